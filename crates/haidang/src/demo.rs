//! The demo province (Lai Châu): its 38 communes and the 34 provinces on the map, its
//! departments and commune People's Committees, and one account per role with a random password
//! printed once. Runs only with `serve --demo`; each part is skipped when already there.

use anyhow::anyhow;
use haidang_core::accounts::admin::CreateOptions;
use haidang_core::accounts::{secret, NewUser, Subject};
use haidang_core::orgs::NewOrganisation;
use haidang_core::repo::{OrgRepository, UnitRepository};
use haidang_core::units::UnitKind;
use haidang_server::state::AppState;

use crate::reference;

pub const PROVINCE_CODE: &str = "12";

/// Lai Châu's provincial bodies after the 2025 reorganisation: (code, kind, name, English name,
/// sectors). Duty phones are placeholders (0213 is Lai Châu's area code; 000 marks them as demo).
type OrgSeed =
    (&'static str, &'static str, &'static str, &'static str, &'static [&'static str], &'static str);

const PROVINCIAL_ORGS: &[OrgSeed] = &[
    (
        "ubnd-tinh",
        "provincial_committee",
        "Ủy ban nhân dân tỉnh Lai Châu",
        "Lai Chau Provincial People's Committee",
        &["general"],
        "0213 000 0100",
    ),
    (
        "vp-ubnd",
        "department",
        "Văn phòng Ủy ban nhân dân tỉnh",
        "Office of the Provincial People's Committee",
        &["general"],
        "0213 000 0101",
    ),
    (
        "so-noi-vu",
        "department",
        "Sở Nội vụ",
        "Department of Home Affairs",
        &["general", "social_welfare"],
        "0213 000 0102",
    ),
    ("so-tai-chinh", "department", "Sở Tài chính", "Department of Finance", &["finance"], "0213 000 0103"),
    ("so-tu-phap", "department", "Sở Tư pháp", "Department of Justice", &["general"], "0213 000 0104"),
    (
        "so-xay-dung",
        "department",
        "Sở Xây dựng",
        "Department of Construction",
        &["construction", "transport"],
        "0213 000 0105",
    ),
    (
        "so-cong-thuong",
        "department",
        "Sở Công Thương",
        "Department of Industry and Trade",
        &["utilities"],
        "0213 000 0106",
    ),
    (
        "so-nn-mt",
        "department",
        "Sở Nông nghiệp và Môi trường",
        "Department of Agriculture and Environment",
        &["agriculture", "environment", "disaster"],
        "0213 000 0107",
    ),
    (
        "so-kh-cn",
        "department",
        "Sở Khoa học và Công nghệ",
        "Department of Science and Technology",
        &["information"],
        "0213 000 0108",
    ),
    (
        "so-gd-dt",
        "department",
        "Sở Giáo dục và Đào tạo",
        "Department of Education and Training",
        &["education"],
        "0213 000 0109",
    ),
    ("so-y-te", "department", "Sở Y tế", "Department of Health", &["health"], "0213 000 0110"),
    (
        "so-vh-tt-dl",
        "department",
        "Sở Văn hóa, Thể thao và Du lịch",
        "Department of Culture, Sports and Tourism",
        &["tourism"],
        "0213 000 0111",
    ),
    (
        "so-dan-toc-ton-giao",
        "department",
        "Sở Dân tộc và Tôn giáo",
        "Department of Ethnic Minorities and Religions",
        &["social_welfare"],
        "0213 000 0112",
    ),
    ("thanh-tra", "department", "Thanh tra tỉnh", "Provincial Inspectorate", &["general"], "0213 000 0113"),
    ("cong-an", "police", "Công an tỉnh Lai Châu", "Lai Chau Provincial Police", &["public_order"], "113"),
    (
        "pc-lai-chau",
        "utility",
        "Công ty Điện lực Lai Châu",
        "Lai Chau Power Company",
        &["utilities"],
        "0213 000 0120",
    ),
];

/// (username, role, organisation code, display name)
const DEMO_ACCOUNTS: &[(&str, &str, &str, &str)] = &[
    ("admin", "admin", "ioc", "Quản trị hệ thống"),
    ("supervisor", "supervisor", "ioc", "Giám sát viên ca trực"),
    ("operator", "operator", "ioc", "Điều hành viên ca trực"),
    ("leader", "leader", "ubnd-tinh", "Lãnh đạo UBND tỉnh"),
    ("officer", "officer", "so-nn-mt", "Cán bộ Sở Nông nghiệp và Môi trường"),
    ("auditor", "auditor", "thanh-tra", "Thanh tra viên"),
];

/// Loads the 34 provinces and Lai Châu's communes if the store has none yet.
pub async fn seed_units(state: &AppState) -> anyhow::Result<bool> {
    let cli = Subject::cli();
    let existing = state.store.list_units(Some(UnitKind::Province), None, false).await?;
    if existing.iter().any(|u| u.code == PROVINCE_CODE)
        && !state.store.list_units(None, Some(PROVINCE_CODE), false).await?.is_empty()
    {
        return Ok(false);
    }
    let from = reference::reorganisation_date();
    state.units.import_geojson(&cli, reference::PROVINCES_GEOJSON, from).await?;
    state.units.import_geojson(&cli, reference::LAI_CHAU_PROVINCE_GEOJSON, from).await?;
    state.units.import_geojson(&cli, reference::LAI_CHAU_COMMUNES_GEOJSON, from).await?;
    Ok(true)
}

pub async fn seed_orgs(state: &AppState) -> anyhow::Result<bool> {
    if state.store.get_org_by_code("ubnd-tinh").await?.is_some() {
        return Ok(false);
    }
    let cli = Subject::cli();
    for (code, kind, name, name_en, sectors, duty) in PROVINCIAL_ORGS {
        state
            .orgs
            .create(
                &cli,
                NewOrganisation {
                    code: code.to_string(),
                    parent: (*code != "ubnd-tinh").then(|| "ubnd-tinh".to_string()),
                    kind: kind.to_string(),
                    name_vi: name.to_string(),
                    name_en: Some(name_en.to_string()),
                    sectors: sectors.iter().map(|s| s.to_string()).collect(),
                    unit_codes: vec![PROVINCE_CODE.to_string()],
                    duty_phone: Some(duty.to_string()),
                    ..NewOrganisation::default()
                },
            )
            .await?;
    }
    state
        .orgs
        .create(
            &cli,
            NewOrganisation {
                code: "ioc".into(),
                parent: Some("so-kh-cn".into()),
                kind: "operating_unit".into(),
                name_vi: "Trung tâm Giám sát, điều hành thông minh tỉnh".into(),
                name_en: Some("Provincial Intelligent Operations Centre".into()),
                sectors: vec!["general".into(), "information".into()],
                unit_codes: vec![PROVINCE_CODE.into()],
                duty_phone: Some("0213 000 0199".into()),
                ..NewOrganisation::default()
            },
        )
        .await?;
    let communes = state.store.list_units(None, Some(PROVINCE_CODE), false).await?;
    for unit in communes.iter().filter(|u| u.kind.is_local()) {
        state
            .orgs
            .create(
                &cli,
                NewOrganisation {
                    code: format!("ubnd-{}", unit.code),
                    parent: Some("ubnd-tinh".into()),
                    kind: "commune_committee".into(),
                    name_vi: format!("UBND {}", unit.full_name_vi),
                    name_en: Some(format!("{} People's Committee", unit.full_name_en)),
                    sectors: vec!["general".into()],
                    unit_codes: vec![unit.code.clone()],
                    ..NewOrganisation::default()
                },
            )
            .await?;
    }
    Ok(true)
}

/// Creates the demo accounts; returns (username, password) pairs to print once.
pub async fn seed_accounts(state: &AppState) -> anyhow::Result<Vec<(String, String)>> {
    let cli = Subject::cli();
    let mut created = Vec::new();
    for (username, role, org, display) in DEMO_ACCOUNTS {
        if state.accounts.find_user(username).await.is_ok() {
            continue;
        }
        let password = secret::random_password();
        state
            .accounts
            .create_user(
                &cli,
                NewUser {
                    username: username.to_string(),
                    display_name: Some(display.to_string()),
                    email: None,
                    phone: None,
                    org: org.to_string(),
                    role: role.to_string(),
                    password: password.clone(),
                    reason: "demo account".into(),
                    request_ref: "demo".into(),
                },
                CreateOptions { demo: true },
            )
            .await
            .map_err(|e| anyhow!("demo account {username}: {e}"))?;
        created.push((username.to_string(), password));
    }
    Ok(created)
}

/// River gauges (no exchange data structure issued yet): (code, river, lon, lat, level m, alarm m).
const DEMO_GAUGES: &[(&str, &str, f64, f64, f64, f64)] = &[
    ("nam-na", "Sông Nậm Na", 103.268, 22.503, 183.4, 187.0),
    ("nam-mu", "Sông Nậm Mu", 103.761, 21.984, 312.9, 316.5),
    ("da-muong-te", "Sông Đà", 102.815, 22.362, 290.2, 295.0),
];

/// River gauges of the Department of Agriculture and Environment's older system, sent before
/// their type had an exchange data structure (so they belong to no dataset).
pub async fn seed_entities(state: &AppState) -> anyhow::Result<bool> {
    if state.hub.place_of("urn:ngsi-ld:RiverGauge:lai-chau-nam-na").is_some() {
        return Ok(false);
    }
    let org = state
        .store
        .get_org_by_code("so-nn-mt")
        .await?
        .ok_or_else(|| anyhow!("demo organisation so-nn-mt is missing"))?;
    let provider = crate::demo_stations::provider_subject(&org.id, "so-nn-mt");
    let observed = haidang_core::time::now().to_string();
    let mut payloads = Vec::new();
    for (code, river, lon, lat, level, alarm) in DEMO_GAUGES {
        payloads.push(serde_json::json!({
            "id": format!("urn:ngsi-ld:RiverGauge:lai-chau-{code}"),
            "type": "RiverGauge",
            "name": {"type": "LanguageProperty", "languageMap": {"vi": format!("Trạm thủy văn {river}"), "en": format!("{river} gauge")}},
            "waterLevel": {"type": "Property", "value": level, "unitCode": "MTR", "observedAt": observed},
            "alarmLevel1": {"type": "Property", "value": alarm, "unitCode": "MTR"},
            "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, lat]}},
        }));
    }
    let ctx = haidang_core::hub::contexts::core_arc();
    let mut ops = Vec::new();
    for p in &payloads {
        let e = haidang_core::hub::entity::parse_entity(p).map_err(|e| anyhow!("demo entity: {e}"))?;
        ops.push(haidang_core::hub::ops::EntityOp::Create(e.map_names(&|n| ctx.expand(n))));
    }
    let results =
        state.hub.write(&provider, "entity.batch", ops, ctx.clone()).await.map_err(|e| anyhow!("{e}"))?;
    for r in results {
        r.map_err(|e| anyhow!("demo entity refused: {e}"))?;
    }
    Ok(true)
}

/// All of the demo; returns the new accounts' passwords.
pub async fn seed(state: &AppState) -> anyhow::Result<Vec<(String, String)>> {
    seed_units(state).await?;
    seed_orgs(state).await?;
    let passwords = seed_accounts(state).await?;
    // Stations are filed under the commune they lie in: the units' index first.
    haidang_server::rebuild_unit_index(state).await?;
    crate::demo_stations::seed_datasets(state).await?;
    crate::demo_stations::seed_stations(state).await?;
    seed_entities(state).await?;
    crate::demo_alerts::seed(state).await?;
    crate::demo_playbooks::seed(state).await?;
    // The indicators' communes are the units just loaded.
    state.indicators.reload().await?;
    if state.config.demo.indicators {
        crate::demo_indicators::seed(state).await?;
    }
    crate::demo_reports::seed(state, state.config.demo.reports).await?;
    Ok(passwords)
}
