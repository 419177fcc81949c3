//! Subject keys: USCC (统一社会信用代码); else, for natural persons, the blind index of the
//! resident ID or of another identity document; else the organization code or a registration
//! number; else a weak key of the folded name within the deciding party.

use crate::domain::party::Party;
use crate::domain::record::{IdType, Subject, SubjectKind};
use crate::normalize::names::{NameKeys, fits};
use serde::Serialize;

/// The key a subject is resolved by.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub enum SubjectKey {
    /// 统一社会信用代码 (GB 32100).
    Uscc(String),
    /// Blind index of a resident ID number (居民身份证号码).
    ResidentId(String),
    /// Blind index of another identity document (type and number).
    IdDocument(String),
    /// 组织机构代码 (GB 11714).
    OrgCode(String),
    /// 工商注册号, 事业单位证书号, 社会组织登记证号 or 税务登记号 (kind-prefixed).
    RegistrationNo(String),
    /// Weak: the folded name within a party. Never enough to flag anyone.
    Weak {
        /// Party of the deciding authority.
        party: Party,
        /// Folded name.
        name: String,
    },
}

impl SubjectKey {
    /// Stored key kind.
    pub fn kind(&self) -> &'static str {
        match self {
            SubjectKey::Uscc(_) => "uscc",
            SubjectKey::ResidentId(_) => "resident_id",
            SubjectKey::IdDocument(_) => "id_document",
            SubjectKey::OrgCode(_) => "org_code",
            SubjectKey::RegistrationNo(_) => "registration_no",
            SubjectKey::Weak { .. } => "weak",
        }
    }

    /// Stored key value.
    pub fn value(&self) -> String {
        match self {
            SubjectKey::Uscc(v)
            | SubjectKey::ResidentId(v)
            | SubjectKey::IdDocument(v)
            | SubjectKey::OrgCode(v)
            | SubjectKey::RegistrationNo(v) => v.clone(),
            SubjectKey::Weak { party, name } => format!("{}|{name}", party.code()),
        }
    }

    /// Whether the key identifies one subject for certain.
    pub fn is_strong(&self) -> bool {
        !matches!(self, SubjectKey::Weak { .. })
    }

    /// The stable subject id for this key.
    pub fn subject_id(&self) -> String {
        let d = ring::digest::digest(
            &ring::digest::SHA256,
            format!("{}\n{}", self.kind(), self.value()).as_bytes(),
        );
        let short: Vec<u8> = d.as_ref().iter().take(10).copied().collect();
        format!("sub_{}", hex::encode(short))
    }
}

/// Blind indexes a caller computed for the subject's identity documents.
#[derive(Debug, Clone, Default)]
pub struct SealedIds {
    /// Of the resident ID, when the subject is a natural person with one.
    pub resident_id: Option<String>,
    /// Of another identity document (type and number).
    pub other_document: Option<String>,
}

/// The strongest key a subject carries. `party` is the deciding authority's party (for the
/// weak key).
pub fn subject_key(subject: &Subject, ids: &SealedIds, party: Party) -> SubjectKey {
    subject_keys(subject, ids, party)
        .into_iter()
        .next()
        .unwrap_or_else(|| SubjectKey::Weak {
            party,
            name: subject.name.clone(),
        })
}

/// Every key a subject carries, strongest first: the USCC; for natural persons the blind
/// indexes of their identity documents; the organization code, given or read from positions
/// 9-17 of the USCC (GB 32100 §4.2: the 主体标识码 is the organization code); the registration
/// numbers. A subject with none of them has only its weak key. The first key is the one
/// [`subject_key`] resolves by; the others let a record that carries only one of them find the
/// same subject.
pub fn subject_keys(subject: &Subject, ids: &SealedIds, party: Party) -> Vec<SubjectKey> {
    let mut keys = Vec::new();
    if let Some(uscc) = &subject.uscc {
        keys.push(SubjectKey::Uscc(uscc.clone()));
    }
    if subject.kind == SubjectKind::NaturalPerson {
        if let Some(idx) = &ids.resident_id {
            keys.push(SubjectKey::ResidentId(idx.clone()));
        }
        if let Some(idx) = &ids.other_document {
            keys.push(SubjectKey::IdDocument(idx.clone()));
        }
    }
    if let Some(code) = &subject.org_code {
        keys.push(SubjectKey::OrgCode(code.clone()));
    }
    if let Some(code) = subject.uscc.as_deref().and_then(org_code_of_uscc)
        && subject.org_code.as_deref() != Some(code.as_str())
    {
        keys.push(SubjectKey::OrgCode(code));
    }
    let registrations = [
        ("business", &subject.business_reg_no),
        ("institution", &subject.institution_cert_no),
        ("social_org", &subject.social_org_reg_no),
        ("tax", &subject.tax_reg_no),
    ];
    for (kind, no) in registrations {
        if let Some(no) = no {
            keys.push(SubjectKey::RegistrationNo(format!("{kind}:{no}")));
        }
    }
    if keys.is_empty() {
        keys.push(SubjectKey::Weak {
            party,
            name: subject.name.clone(),
        });
    }
    keys
}

/// The organization code inside a USCC (characters 9-17), when it carries a valid GB 11714
/// check character; some USCCs issued to subjects without an organization code do not.
pub fn org_code_of_uscc(uscc: &str) -> Option<String> {
    let code: String = uscc.chars().skip(8).take(9).collect();
    if code.chars().count() != 9 {
        return None;
    }
    crate::normalize::ids::normalize_org_code(&code).ok()
}

/// Whether an identity document other than the resident ID should be indexed.
pub fn other_document(subject: &Subject) -> Option<(String, String)> {
    match (&subject.id_type, &subject.id_no) {
        (Some(IdType::ResidentId), _) | (None, _) | (_, None) => None,
        (Some(t), Some(no)) => Some((t.to_string(), no.clone())),
    }
}

/// Whether a weak subject may be linked to a strong one of the same folded name and party:
/// organizations and individual businesses only (two people share a name all the time), and of
/// the same kind.
pub fn may_link_by_name(weak: SubjectKind, strong: SubjectKind) -> bool {
    weak == strong && weak != SubjectKind::NaturalPerson
}

/// The one identified subject a weak subject's names point to, if exactly one does: among
/// `candidates` (id, kind, name keys of one of its names), those of the weak subject's kind
/// (never natural persons: two people share a name all the time) with a name that one of the
/// weak subject's names fits ([`fits`]) within `weak_party`, the party of its records. The
/// name is ambiguous, and links to neither, when two subjects fit; when a name without its
/// division also fits an enterprise of that name in another party; or when it fits one of
/// `rivals` — other weak subjects written with their divisions (id, kind, party, keys) — that
/// does not itself fit the identified subject: an enterprise not identified yet that the name
/// could equally mean. A wrong link is worse than a missed one. Depends only on the sets given,
/// never on their order.
pub fn link_target<'a>(
    weak_kind: SubjectKind,
    weak_party: Party,
    weak_names: &[NameKeys],
    candidates: impl IntoIterator<Item = (&'a str, SubjectKind, &'a NameKeys)>,
    rivals: impl IntoIterator<Item = (&'a str, SubjectKind, Party, &'a NameKeys)>,
) -> Option<String> {
    if !may_link_by_name(weak_kind, weak_kind) {
        return None;
    }
    let fits_any = |name: &NameKeys| {
        Party::ALL
            .into_iter()
            .any(|p| weak_names.iter().any(|w| fits(w, p, name)))
    };
    // Per fitting subject: whether it fits within the weak subject's own party; its names.
    let mut fitting: std::collections::BTreeMap<&str, (bool, Vec<&NameKeys>)> =
        std::collections::BTreeMap::new();
    for (id, kind, name) in candidates {
        if !may_link_by_name(weak_kind, kind) {
            continue;
        }
        let here = weak_names.iter().any(|w| fits(w, weak_party, name));
        if here || fits_any(name) {
            let entry = fitting.entry(id).or_insert((false, Vec::new()));
            entry.0 = entry.0 || here;
            entry.1.push(name);
        }
    }
    let mut it = fitting.into_iter();
    let (one, names) = match (it.next(), it.next()) {
        (Some((one, (true, names))), None) => (one, names),
        _ => return None,
    };
    let rival = rivals.into_iter().any(|(_, kind, party, rival)| {
        kind == weak_kind
            && rival.core.is_some()
            && fits_any(rival)
            && !names.iter().any(|s| fits(rival, party, s))
    });
    (!rival).then(|| one.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn subject(kind: SubjectKind) -> Subject {
        Subject {
            name: "上海某某有限公司".into(),
            name_raw: "上海某某有限公司".into(),
            kind,
            uscc: None,
            business_reg_no: None,
            org_code: None,
            tax_reg_no: None,
            institution_cert_no: None,
            social_org_reg_no: None,
            legal_rep: None,
            id_type: None,
            id_no: None,
        }
    }

    #[test]
    fn the_strongest_identifier_wins() {
        let mut s = subject(SubjectKind::LegalPerson);
        let ids = SealedIds::default();
        assert!(matches!(
            subject_key(&s, &ids, Party::Shanghai),
            SubjectKey::Weak { .. }
        ));
        s.tax_reg_no = Some("T1".into());
        assert_eq!(
            subject_key(&s, &ids, Party::Shanghai),
            SubjectKey::RegistrationNo("tax:T1".into())
        );
        s.org_code = Some("MA1FL0000".into());
        assert_eq!(
            subject_key(&s, &ids, Party::Shanghai),
            SubjectKey::OrgCode("MA1FL0000".into())
        );
        s.uscc = Some("91310000MA1FL0000X".into());
        assert_eq!(
            subject_key(&s, &ids, Party::Shanghai),
            SubjectKey::Uscc("91310000MA1FL0000X".into())
        );
    }

    #[test]
    fn natural_persons_resolve_by_sealed_documents_and_are_never_linked_by_name() {
        let s = subject(SubjectKind::NaturalPerson);
        let ids = SealedIds {
            resident_id: Some("abc".into()),
            other_document: Some("def".into()),
        };
        assert_eq!(
            subject_key(&s, &ids, Party::Anhui),
            SubjectKey::ResidentId("abc".into())
        );
        let only_passport = SealedIds {
            resident_id: None,
            other_document: Some("def".into()),
        };
        assert_eq!(
            subject_key(&s, &only_passport, Party::Anhui),
            SubjectKey::IdDocument("def".into())
        );
        assert!(!may_link_by_name(
            SubjectKind::NaturalPerson,
            SubjectKind::NaturalPerson
        ));
        assert!(may_link_by_name(
            SubjectKind::LegalPerson,
            SubjectKind::LegalPerson
        ));
        assert!(!may_link_by_name(
            SubjectKind::LegalPerson,
            SubjectKind::IndividualBusiness
        ));
    }

    /// A valid organization code from an 8-character body, and a valid USCC around it.
    fn codes(body: &str, prefix: &str) -> Option<(String, String)> {
        let org = format!(
            "{body}{}",
            crate::normalize::ids::org_code_check_char(body)?
        );
        let first17 = format!("{prefix}310115{org}");
        let uscc = format!(
            "{first17}{}",
            crate::normalize::ids::uscc_check_char(&first17)?
        );
        Some((org, uscc))
    }

    #[test]
    fn a_uscc_brings_the_organization_code_inside_it() {
        let Some((org, uscc)) = codes("MA1FL8XK", "91") else {
            panic!("the test codes are valid");
        };
        let mut s = subject(SubjectKind::LegalPerson);
        s.uscc = Some(uscc.clone());
        s.business_reg_no = Some("310115000123456".into());
        let keys = subject_keys(&s, &SealedIds::default(), Party::Shanghai);
        assert_eq!(
            keys,
            vec![
                SubjectKey::Uscc(uscc),
                SubjectKey::OrgCode(org.clone()),
                SubjectKey::RegistrationNo("business:310115000123456".into()),
            ]
        );
        // Given alone, the same organization code is the key.
        let mut alone = subject(SubjectKind::LegalPerson);
        alone.org_code = Some(org.clone());
        assert_eq!(
            subject_keys(&alone, &SealedIds::default(), Party::Jiangsu),
            vec![SubjectKey::OrgCode(org)]
        );
        // Characters 9-17 that fail the GB 11714 check are not taken for an organization code.
        let mut odd = subject(SubjectKind::LegalPerson);
        odd.uscc = Some("91310000MA1FL0000X".into());
        assert_eq!(
            subject_keys(&odd, &SealedIds::default(), Party::Shanghai).len(),
            1
        );
        // No strong identifier: the weak key only.
        assert_eq!(
            subject_keys(
                &subject(SubjectKind::LegalPerson),
                &SealedIds::default(),
                Party::Anhui
            ),
            vec![SubjectKey::Weak {
                party: Party::Anhui,
                name: "上海某某有限公司".into()
            }]
        );
    }

    fn keys(name: &str) -> NameKeys {
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/units.toml"),
        )
        .unwrap();
        let units = crate::domain::registry::parse_units_toml(&text).unwrap();
        crate::normalize::names::match_name(
            name,
            &crate::normalize::names::Divisions::from_units(&units),
        )
    }

    #[test]
    fn a_weak_name_links_to_exactly_one_fitting_subject_or_to_none() {
        let lp = SubjectKind::LegalPerson;
        let sh_full = keys("上海鑫华建筑工程有限公司");
        let sh_pudong = keys("上海市浦东新区鑫华建筑工程有限公司");
        let nj_full = keys("南京鑫华建筑工程有限公司");
        let sibling = keys("上海鑫荣建筑工程有限公司");
        let bare = [keys("鑫華建築工程有限責任公司")];
        let link = |party, names: &[NameKeys], c: &[(&'static str, SubjectKind, &NameKeys)]| {
            link_target(lp, party, names, c.iter().copied(), [])
        };
        // One fit in the party: linked, whatever the order of the candidates.
        assert_eq!(
            link(
                Party::Shanghai,
                &bare,
                &[("a", lp, &sh_full), ("s", lp, &sibling)]
            ),
            Some("a".to_owned())
        );
        assert_eq!(
            link(
                Party::Shanghai,
                &bare,
                &[("s", lp, &sibling), ("a", lp, &sh_full)]
            ),
            Some("a".to_owned())
        );
        // Two fits in the party: neither.
        assert_eq!(
            link(
                Party::Shanghai,
                &bare,
                &[("a", lp, &sh_full), ("b", lp, &sh_pudong)]
            ),
            None
        );
        // One subject fitting through two of its names is still one.
        assert_eq!(
            link(
                Party::Shanghai,
                &bare,
                &[("a", lp, &sh_full), ("a", lp, &sh_pudong)]
            ),
            Some("a".to_owned())
        );
        // The bare name used in Jiangsu fits no Shanghai subject; with a Nanjing namesake
        // around, the Shanghai record's bare name is ambiguous.
        assert_eq!(link(Party::Jiangsu, &bare, &[("a", lp, &sh_full)]), None);
        assert_eq!(
            link(
                Party::Shanghai,
                &bare,
                &[("a", lp, &sh_full), ("n", lp, &nj_full)]
            ),
            None
        );
        // Another kind, or natural persons: never.
        assert_eq!(
            link(
                Party::Shanghai,
                &bare,
                &[("a", SubjectKind::IndividualBusiness, &sh_full)]
            ),
            None
        );
        assert_eq!(
            link_target(
                SubjectKind::NaturalPerson,
                Party::Shanghai,
                &bare,
                [("a", SubjectKind::NaturalPerson, &sh_full)],
                []
            ),
            None
        );
        // The sibling alone: a name one character apart never fits.
        assert_eq!(link(Party::Shanghai, &bare, &[("s", lp, &sibling)]), None);
        // An unidentified 上海鑫华 (a weak subject written with its division) that is not the
        // identified 浦东 one: the bare name could mean either, so it links to neither; a weak
        // variant of the identified name itself is no rival.
        let pudong = [("p", lp, &sh_pudong)];
        assert_eq!(link(Party::Shanghai, &bare, &pudong), Some("p".to_owned()));
        let rival = keys("上海鑫华建筑工程有限公司");
        let variant = keys("上海市浦東新區鑫华建筑工程有限责任公司");
        assert_eq!(
            link_target(
                lp,
                Party::Shanghai,
                &bare,
                pudong,
                [("r", lp, Party::Shanghai, &rival)]
            ),
            None
        );
        assert_eq!(
            link_target(
                lp,
                Party::Shanghai,
                &bare,
                pudong,
                [("v", lp, Party::Shanghai, &variant)]
            ),
            Some("p".to_owned())
        );
    }

    proptest! {
        #[test]
        fn a_record_with_the_uscc_and_one_with_its_organization_code_share_a_key(
            body in "[0-9A-Z]{8}",
            prefix in prop::sample::select(vec!["91", "92", "93", "12", "51"]),
        ) {
            let Some((org, uscc)) = codes(&body, prefix) else {
                return Ok(());
            };
            let mut with_uscc = subject(SubjectKind::LegalPerson);
            with_uscc.uscc = Some(uscc);
            let mut with_org = subject(SubjectKind::LegalPerson);
            with_org.org_code = Some(org);
            let ids = SealedIds::default();
            let a = subject_keys(&with_uscc, &ids, Party::Shanghai);
            let b = subject_keys(&with_org, &ids, Party::Zhejiang);
            prop_assert!(a.iter().all(SubjectKey::is_strong));
            prop_assert!(b.iter().any(|k| a.contains(k)));
            prop_assert_eq!(&a[0], &subject_key(&with_uscc, &ids, Party::Shanghai));
        }

        #[test]
        fn the_first_key_is_the_strongest_and_weak_keys_stand_alone(
            uscc in proptest::option::of("[0-9A-Z]{18}"),
            org in proptest::option::of("[0-9A-Z]{9}"),
            tax in proptest::option::of("[0-9A-Z]{15}"),
        ) {
            let mut s = subject(SubjectKind::IndividualBusiness);
            s.uscc = uscc.clone();
            s.org_code = org.clone();
            s.tax_reg_no = tax.clone();
            let keys = subject_keys(&s, &SealedIds::default(), Party::Shanghai);
            prop_assert!(!keys.is_empty());
            if uscc.is_none() && org.is_none() && tax.is_none() {
                prop_assert_eq!(keys.len(), 1);
                prop_assert!(!keys[0].is_strong());
            } else {
                prop_assert!(keys.iter().all(SubjectKey::is_strong));
            }
            if let Some(u) = uscc {
                prop_assert_eq!(&keys[0], &SubjectKey::Uscc(u));
            }
        }

        #[test]
        fn different_strong_identifiers_never_share_a_subject_id(a in "[0-9A-Z]{18}", b in "[0-9A-Z]{18}") {
            prop_assume!(a != b);
            prop_assert_ne!(SubjectKey::Uscc(a.clone()).subject_id(), SubjectKey::Uscc(b).subject_id());
            prop_assert_ne!(SubjectKey::Uscc(a.clone()).subject_id(), SubjectKey::OrgCode(a).subject_id());
        }

        #[test]
        fn weak_keys_are_per_party(name in "\\PC{1,20}") {
            let sh = SubjectKey::Weak { party: Party::Shanghai, name: name.clone() };
            let js = SubjectKey::Weak { party: Party::Jiangsu, name };
            prop_assert!(!sh.is_strong());
            prop_assert_ne!(sh.subject_id(), js.subject_id());
        }
    }
}
