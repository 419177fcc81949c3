//! The types everything speaks: parties and levels, units and the registry, the canonical
//! penalty record, masking of personal data. Pure: imports neither actix nor diesel.

pub mod calendar;
pub mod clock;
pub mod collab;
pub mod mask;
pub mod party;
pub mod record;
pub mod registry;
pub mod unit;
