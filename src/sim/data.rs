//! The vocabulary of simulated records: divisions, names, trades, roads, and the
//! urban-management violations with their legal basis, facts and usual penalties.
//!
//! Pure data. Division codes are GB/T 2260 codes of real counties and districts (retired ones
//! are marked); the legal bases are the national and local regulations urban-management units
//! cite. Amount ranges are plausible, not legal advice.

use crate::domain::party::Party;
use crate::domain::record::{PenaltyCategory, SubjectKind};

/// A county-level division: code, name, and the prefecture-level city it belongs to.
#[derive(Debug, Clone, Copy)]
pub struct Division {
    /// Six-digit GB/T 2260 code.
    pub code: &'static str,
    /// Its name (`吴中区`).
    pub name: &'static str,
    /// The city (`苏州市`; `上海市` for Shanghai districts).
    pub city: &'static str,
}

const fn d(code: &'static str, name: &'static str, city: &'static str) -> Division {
    Division { code, name, city }
}

/// Current county-level divisions used for subjects' homes and places of violation.
pub const DIVISIONS: &[Division] = &[
    d("310101", "黄浦区", "上海市"),
    d("310104", "徐汇区", "上海市"),
    d("310105", "长宁区", "上海市"),
    d("310106", "静安区", "上海市"),
    d("310107", "普陀区", "上海市"),
    d("310109", "虹口区", "上海市"),
    d("310110", "杨浦区", "上海市"),
    d("310112", "闵行区", "上海市"),
    d("310113", "宝山区", "上海市"),
    d("310114", "嘉定区", "上海市"),
    d("310115", "浦东新区", "上海市"),
    d("310116", "金山区", "上海市"),
    d("310117", "松江区", "上海市"),
    d("310118", "青浦区", "上海市"),
    d("310120", "奉贤区", "上海市"),
    d("310151", "崇明区", "上海市"),
    d("320102", "玄武区", "南京市"),
    d("320104", "秦淮区", "南京市"),
    d("320106", "鼓楼区", "南京市"),
    d("320205", "锡山区", "无锡市"),
    d("320213", "梁溪区", "无锡市"),
    d("320282", "宜兴市", "无锡市"),
    d("320302", "鼓楼区", "徐州市"),
    d("320402", "天宁区", "常州市"),
    d("320411", "新北区", "常州市"),
    d("320505", "虎丘区", "苏州市"),
    d("320506", "吴中区", "苏州市"),
    d("320508", "姑苏区", "苏州市"),
    d("320509", "吴江区", "苏州市"),
    d("320583", "昆山市", "苏州市"),
    d("320585", "太仓市", "苏州市"),
    d("320612", "通州区", "南通市"),
    d("320706", "海州区", "连云港市"),
    d("320803", "淮安区", "淮安市"),
    d("320902", "亭湖区", "盐城市"),
    d("321002", "广陵区", "扬州市"),
    d("321102", "京口区", "镇江市"),
    d("321202", "海陵区", "泰州市"),
    d("321302", "宿城区", "宿迁市"),
    d("330102", "上城区", "杭州市"),
    d("330106", "西湖区", "杭州市"),
    d("330110", "余杭区", "杭州市"),
    d("330203", "海曙区", "宁波市"),
    d("330212", "鄞州区", "宁波市"),
    d("330302", "鹿城区", "温州市"),
    d("330402", "南湖区", "嘉兴市"),
    d("330411", "秀洲区", "嘉兴市"),
    d("330421", "嘉善县", "嘉兴市"),
    d("330482", "平湖市", "嘉兴市"),
    d("330502", "吴兴区", "湖州市"),
    d("330523", "安吉县", "湖州市"),
    d("330602", "越城区", "绍兴市"),
    d("330702", "婺城区", "金华市"),
    d("330802", "柯城区", "衢州市"),
    d("330902", "定海区", "舟山市"),
    d("331002", "椒江区", "台州市"),
    d("331004", "路桥区", "台州市"),
    d("331102", "莲都区", "丽水市"),
    d("340102", "瑶海区", "合肥市"),
    d("340104", "蜀山区", "合肥市"),
    d("340111", "包河区", "合肥市"),
    d("340202", "镜湖区", "芜湖市"),
    d("340302", "龙子湖区", "蚌埠市"),
    d("340402", "大通区", "淮南市"),
    d("340503", "花山区", "马鞍山市"),
    d("340504", "雨山区", "马鞍山市"),
    d("340602", "杜集区", "淮北市"),
    d("340705", "铜官区", "铜陵市"),
    d("340803", "大观区", "安庆市"),
    d("341002", "屯溪区", "黄山市"),
    d("341102", "琅琊区", "滁州市"),
    d("341202", "颍州区", "阜阳市"),
    d("341302", "埇桥区", "宿州市"),
    d("341502", "金安区", "六安市"),
    d("341602", "谯城区", "亳州市"),
    d("341702", "贵池区", "池州市"),
    d("341802", "宣州区", "宣城市"),
];

/// Retired divisions (GB/T 2260 codes since abolished or merged) that still live inside older
/// identifiers: never a reason
/// to reject one.
pub const RETIRED_DIVISIONS: &[Division] = &[
    d("310108", "闸北区", "上海市"),
    d("310230", "崇明县", "上海市"),
    d("310103", "卢湾区", "上海市"),
];

/// Pairs of neighbouring areas on a provincial border (division prefixes), where waste is
/// carried and dumped across: the typical cross-border case of the agreement.
pub const BORDERS: &[(&str, &str)] = &[
    ("310118", "3205"),
    ("310114", "3205"),
    ("310118", "3304"),
    ("310116", "3304"),
    ("310117", "3304"),
    ("310151", "3206"),
    ("3205", "3304"),
    ("3205", "3305"),
    ("3202", "3305"),
    ("3201", "3405"),
    ("3201", "3411"),
    ("3204", "3418"),
    ("3203", "3413"),
    ("3301", "3410"),
    ("3301", "3418"),
    ("3305", "3418"),
    ("3308", "3410"),
];

/// The licence-plate prefix of a party's vehicles.
pub fn plate_prefix(party: Party) -> &'static str {
    match party {
        Party::Shanghai => "沪",
        Party::Jiangsu => "苏",
        Party::Zhejiang => "浙",
        Party::Anhui => "皖",
    }
}

/// Common surnames.
pub const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "林", "高", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "欧阳", "诸葛",
];

/// Characters of given names.
pub const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超",
    "秀英", "华", "建国", "志强", "海燕", "雪", "晨", "宇", "浩", "鑫", "文", "斌", "玲", "峰",
    "建华", "国平", "春生", "小红",
];

/// Trade names (字号) of companies.
pub const TRADE_NAMES: &[&str] = &[
    "恒达",
    "鑫源",
    "宏盛",
    "华建",
    "永顺",
    "金丰",
    "瑞祥",
    "中联",
    "天成",
    "佳美",
    "通达",
    "顺发",
    "安泰",
    "兴业",
    "锦程",
    "宏远",
    "嘉禾",
    "弘毅",
    "博远",
    "众鑫",
    "荣昌",
    "德信",
    "骏马",
    "长风",
    "正和",
    "新世纪",
    "远航",
    "东升",
    "汇丰达",
    "利民",
];

/// Lines of business in company names.
pub const BUSINESSES: &[&str] = &[
    "建筑工程",
    "土石方工程",
    "渣土运输",
    "建材",
    "装饰工程",
    "市政工程",
    "园林绿化工程",
    "广告传媒",
    "餐饮管理",
    "物业管理",
    "物流",
    "房地产开发",
];

/// Shops of individual businesses (个体工商户).
pub const SHOPS: &[&str] = &[
    "小吃店",
    "五金店",
    "水果店",
    "便利店",
    "烧烤店",
    "广告部",
    "装潢部",
    "废品回收站",
    "面馆",
    "建材经营部",
];

/// Roads for addresses in facts.
pub const ROADS: &[&str] = &[
    "人民路",
    "中山路",
    "解放路",
    "建设路",
    "长江路",
    "延安路",
    "环城路",
    "滨江路",
    "新华路",
    "胜利路",
    "友谊路",
    "工业园路",
];

/// Goods sold at street stalls.
pub const GOODS: &[&str] = &["水果", "小吃", "日用百货", "蔬菜", "服装", "玩具"];

/// The money of a violation, in yuan: (kind, lowest, highest).
pub type FineRange = (SubjectKind, i64, i64);

/// One urban-management violation type and how it is usually penalized.
#[derive(Debug, Clone, Copy)]
pub struct Violation {
    /// 违法行为类型.
    pub name: &'static str,
    /// 处罚依据 outside Shanghai.
    pub basis: &'static str,
    /// 处罚依据 in Shanghai, when a local regulation applies.
    pub basis_sh: Option<&'static str>,
    /// 违法事实 template: `{date}` day of the act, `{place}` address, `{n}` a quantity,
    /// `{plate}` a licence plate, `{goods}` goods.
    pub facts: &'static str,
    /// Subject kinds that commit it, with weights.
    pub kinds: &'static [(SubjectKind, u32)],
    /// Fine ranges per subject kind, in yuan.
    pub fines: &'static [FineRange],
    /// Whether a warning alone is a usual outcome.
    pub warning_alone: bool,
    /// Whether a licence (建筑垃圾运输证) may be suspended with the fine.
    pub suspends_licence: bool,
    /// Whether stall goods may be confiscated (没收非法财物).
    pub confiscates: bool,
    /// Typical of waste carried across provincial borders (渣土跨界).
    pub cross_border: bool,
    /// Relative frequency.
    pub weight: u32,
}

use SubjectKind::{IndividualBusiness as Ib, LegalPerson as Lp, NaturalPerson as Np};

/// The violations the simulator draws from.
pub const VIOLATIONS: &[Violation] = &[
    Violation {
        name: "未经许可运输建筑垃圾",
        basis: "《城市建筑垃圾管理规定》第二十五条",
        basis_sh: Some("《上海市建筑垃圾处理管理规定》第四十条"),
        facts: "当事人于{date}使用{plate}号重型自卸货车，未取得建筑垃圾运输许可，擅自在{place}运输建筑垃圾约{n}立方米。",
        kinds: &[(Lp, 8), (Ib, 1), (Np, 2)],
        fines: &[(Lp, 5_000, 30_000), (Ib, 1_000, 5_000), (Np, 500, 3_000)],
        warning_alone: false,
        suspends_licence: false,
        confiscates: false,
        cross_border: true,
        weight: 14,
    },
    Violation {
        name: "擅自倾倒建筑垃圾",
        basis: "《城市建筑垃圾管理规定》第二十六条",
        basis_sh: Some("《上海市建筑垃圾处理管理规定》第四十二条"),
        facts: "当事人于{date}在{place}擅自倾倒建筑垃圾约{n}立方米，未按规定地点处置。",
        kinds: &[(Lp, 6), (Np, 3), (Ib, 1)],
        fines: &[(Lp, 5_000, 50_000), (Ib, 200, 2_000), (Np, 50, 200)],
        warning_alone: false,
        suspends_licence: false,
        confiscates: false,
        cross_border: true,
        weight: 14,
    },
    Violation {
        name: "运输车辆沿途撒漏建筑垃圾",
        basis: "《中华人民共和国大气污染防治法》第一百一十六条",
        basis_sh: None,
        facts: "当事人驾驶{plate}号渣土运输车辆未采取密闭措施，于{date}在{place}沿途撒漏建筑垃圾，污染路面约{n}平方米。",
        kinds: &[(Lp, 7), (Np, 2)],
        fines: &[(Lp, 2_000, 20_000), (Np, 2_000, 5_000)],
        warning_alone: false,
        suspends_licence: true,
        confiscates: false,
        cross_border: true,
        weight: 9,
    },
    Violation {
        name: "违法建设",
        basis: "《中华人民共和国城乡规划法》第六十四条",
        basis_sh: Some("《上海市城乡规划条例》第七十五条"),
        facts: "当事人未取得建设工程规划许可证，于{date}起在{place}擅自搭建建筑物约{n}平方米。",
        kinds: &[(Lp, 5), (Np, 4), (Ib, 2)],
        fines: &[
            (Lp, 10_000, 200_000),
            (Ib, 5_000, 50_000),
            (Np, 2_000, 30_000),
        ],
        warning_alone: false,
        suspends_licence: false,
        confiscates: false,
        cross_border: false,
        weight: 10,
    },
    Violation {
        name: "占道经营",
        basis: "《城市市容和环境卫生管理条例》第三十六条",
        basis_sh: Some("《上海市市容环境卫生管理条例》第二十二条"),
        facts: "当事人于{date}在{place}人行道上擅自摆摊设点经营{goods}，占用道路约{n}平方米。",
        kinds: &[(Np, 6), (Ib, 4)],
        fines: &[(Np, 50, 500), (Ib, 100, 1_000)],
        warning_alone: true,
        suspends_licence: false,
        confiscates: true,
        cross_border: false,
        weight: 14,
    },
    Violation {
        name: "擅自设置户外广告",
        basis: "《城市市容和环境卫生管理条例》第十一条、第三十六条",
        basis_sh: Some("《上海市户外广告设施管理办法》第三十五条"),
        facts: "当事人未经批准，于{date}在{place}擅自设置户外广告牌一块，面积约{n}平方米。",
        kinds: &[(Lp, 5), (Ib, 5)],
        fines: &[(Lp, 1_000, 10_000), (Ib, 500, 5_000)],
        warning_alone: true,
        suspends_licence: false,
        confiscates: false,
        cross_border: false,
        weight: 10,
    },
    Violation {
        name: "生活垃圾未分类投放",
        basis: "《中华人民共和国固体废物污染环境防治法》第一百一十一条第三款",
        basis_sh: Some("《上海市生活垃圾管理条例》第五十七条"),
        facts: "当事人于{date}在{place}未按规定分类投放生活垃圾，将湿垃圾与干垃圾混合投放约{n}袋。",
        kinds: &[(Np, 5), (Lp, 3), (Ib, 2)],
        fines: &[(Np, 50, 200), (Ib, 200, 2_000), (Lp, 5_000, 50_000)],
        warning_alone: true,
        suspends_licence: false,
        confiscates: false,
        cross_border: false,
        weight: 10,
    },
    Violation {
        name: "损毁绿化",
        basis: "《城市绿化条例》第二十六条",
        basis_sh: Some("《上海市绿化条例》第四十六条"),
        facts: "当事人于{date}在{place}施工过程中擅自损毁公共绿地约{n}平方米。",
        kinds: &[(Lp, 7), (Np, 2)],
        fines: &[(Lp, 1_000, 20_000), (Np, 500, 5_000)],
        warning_alone: false,
        suspends_licence: false,
        confiscates: false,
        cross_border: false,
        weight: 7,
    },
    Violation {
        name: "擅自占用城市道路",
        basis: "《城市道路管理条例》第四十二条",
        basis_sh: None,
        facts: "当事人未经批准，于{date}在{place}擅自占用城市道路堆放建筑材料约{n}平方米。",
        kinds: &[(Lp, 6), (Ib, 3), (Np, 1)],
        fines: &[(Lp, 1_000, 20_000), (Ib, 500, 5_000), (Np, 200, 2_000)],
        warning_alone: true,
        suspends_licence: false,
        confiscates: false,
        cross_border: false,
        weight: 8,
    },
];

/// The penalty categories in their 1996 names where those differ from 2021 and map to exactly
/// one category; the rest are written with their 2021 names in the 1996 style too.
pub fn name_1996(c: PenaltyCategory) -> &'static str {
    match c {
        PenaltyCategory::SuspendLicence => "暂扣或者吊销许可证",
        PenaltyCategory::Other => "法律、行政法规规定的其他行政处罚",
        other => other.name_zh(),
    }
}

/// The provincial feed's numeric code of a category (the 1–14 order of the 双公示 standard's
/// penalty categories, as `normalize::categories` reads them).
pub fn numeric_code(c: PenaltyCategory) -> &'static str {
    match c {
        PenaltyCategory::Warning => "01",
        PenaltyCategory::Fine => "02",
        PenaltyCategory::ConfiscateIllegalGains => "03",
        PenaltyCategory::OrderSuspension => "04",
        PenaltyCategory::RevokeLicence => "05",
        PenaltyCategory::AdministrativeDetention => "06",
        PenaltyCategory::Other => "07",
        PenaltyCategory::PublicCriticism => "08",
        PenaltyCategory::ConfiscateIllegalProperty => "09",
        PenaltyCategory::LowerQualification => "10",
        PenaltyCategory::SuspendLicence => "11",
        PenaltyCategory::RestrictBusinessActivities => "12",
        PenaltyCategory::RestrictEmployment => "13",
        PenaltyCategory::OrderClosure => "14",
    }
}

/// The city a division belongs to, from the table, or `None`.
pub fn division(code: &str) -> Option<&'static Division> {
    DIVISIONS
        .iter()
        .chain(RETIRED_DIVISIONS)
        .find(|d| d.code == code)
}

/// Current divisions of a party.
pub fn divisions_of(party: Party) -> Vec<&'static Division> {
    DIVISIONS
        .iter()
        .filter(|d| d.code.starts_with(party.division_prefix()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn divisions_are_six_digits_unique_and_in_a_party() {
        let mut seen = std::collections::BTreeSet::new();
        for d in DIVISIONS.iter().chain(RETIRED_DIVISIONS) {
            assert_eq!(d.code.len(), 6, "{}", d.code);
            assert!(d.code.bytes().all(|b| b.is_ascii_digit()));
            assert!(Party::from_division(d.code).is_some(), "{}", d.code);
            assert!(seen.insert(d.code), "{}", d.code);
        }
        for p in Party::ALL {
            assert!(divisions_of(p).len() >= 10, "{p}");
        }
        for (a, b) in BORDERS {
            assert_ne!(Party::from_division(a), Party::from_division(b));
        }
    }

    #[test]
    fn violations_are_consistent() {
        for v in VIOLATIONS {
            for (kind, _) in v.kinds {
                assert!(v.fines.iter().any(|(k, _, _)| k == kind), "{}", v.name);
            }
            for (_, lo, hi) in v.fines {
                assert!(0 < *lo && lo <= hi, "{}", v.name);
            }
        }
    }

    #[test]
    fn category_spellings_parse_to_the_category() {
        use crate::normalize::categories::{CategoryToken, parse_category_name};
        for c in PenaltyCategory::ALL {
            assert_eq!(
                parse_category_name(numeric_code(c)),
                Some(vec![CategoryToken::Known(c)])
            );
        }
        assert_eq!(
            parse_category_name(name_1996(PenaltyCategory::Other)),
            Some(vec![CategoryToken::Known(PenaltyCategory::Other)])
        );
    }
}
