//! The deciding authorities the tests push as: name (as records write it), unit code and party,
//! exactly as `config/units.toml` registers them (`the_constants_match_the_registry` checks).

use penex::domain::party::Party;

/// A registered unit that decides penalties.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Authority {
    /// 处罚机关: the name records carry in `CF_CFJG` / `处罚机关`.
    pub name: &'static str,
    /// Its unit code in the registry.
    pub code: &'static str,
    /// Its party.
    pub party: Party,
}

/// 静安区 (Shanghai), a city-level unit with a member (彭浦镇, [`PENGPU`]).
pub const JINGAN: Authority = Authority {
    name: "上海市静安区城市管理行政执法局",
    code: "SH-310106",
    party: Party::Shanghai,
};

/// 彭浦镇, a member of 静安区.
pub const PENGPU: Authority = Authority {
    name: "上海市静安区彭浦镇人民政府",
    code: "SH-310106-PPZ",
    party: Party::Shanghai,
};

/// 青浦区 (Shanghai), on the border with Suzhou and Jiaxing.
pub const QINGPU: Authority = Authority {
    name: "上海市青浦区城市管理行政执法局",
    code: "SH-310118",
    party: Party::Shanghai,
};

/// 苏州市 (Jiangsu).
pub const SUZHOU: Authority = Authority {
    name: "苏州市城市管理局",
    code: "JS-320500",
    party: Party::Jiangsu,
};

/// 杭州市 (Zhejiang).
pub const HANGZHOU: Authority = Authority {
    name: "杭州市综合行政执法局",
    code: "ZJ-330100",
    party: Party::Zhejiang,
};

/// 嘉兴市 (Zhejiang), on the border with Qingpu.
pub const JIAXING: Authority = Authority {
    name: "嘉兴市综合行政执法局",
    code: "ZJ-330400",
    party: Party::Zhejiang,
};

#[test]
fn the_constants_match_the_registry() {
    let units = penex::domain::registry::parse_units_toml(
        &std::fs::read_to_string(super::repo().join("config/units.toml")).unwrap(),
    )
    .unwrap();
    for a in [JINGAN, PENGPU, QINGPU, SUZHOU, HANGZHOU, JIAXING] {
        let unit = units.iter().find(|u| u.code.to_string() == a.code);
        assert!(unit.is_some(), "{} is not in config/units.toml", a.code);
        let unit = unit.unwrap();
        assert_eq!(unit.name, a.name, "{}", a.code);
        assert_eq!(unit.party, a.party, "{}", a.code);
    }
}
