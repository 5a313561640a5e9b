//! The demo province's live data: stations placed in Lai Châu's communes, each in a dataset of
//! the department that runs it (air quality and rivers of the Department of Agriculture and
//! Environment, traffic counters of the Department of Construction, street lights of two wards,
//! the police's cameras, shelters, health stations and fire posts), approved as a supervisor
//! would, one left in draft and one form dataset of a commune. The simulator keeps them alive.

use std::collections::HashMap;

use anyhow::anyhow;
use geo::InteriorPoint;
use haidang_core::accounts::{Role, Subject};
use haidang_core::datasets::model::{DatasetState, Expected};
use haidang_core::hub::ops::EntityOp;
use haidang_core::repo::{DatasetRepository, OrgRepository};
use haidang_server::state::AppState;
use serde_json::{json, Value};

/// What a station measures, which picks its dataset, its entity type and how it is simulated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Air,
    Flood,
    Weather,
    Traffic,
    Light,
    Camera,
    Shelter,
    Health,
    FirePost,
}

impl Kind {
    pub fn entity_type(&self) -> &'static str {
        match self {
            Kind::Air => "AirQualityObserved",
            Kind::Flood => "FloodMonitoring",
            Kind::Weather => "WeatherObserved",
            Kind::Traffic => "TrafficFlowObserved",
            Kind::Light => "Streetlight",
            Kind::Camera => "Camera",
            Kind::Shelter | Kind::Health | Kind::FirePost => "PointOfInterest",
        }
    }

    /// The MQTT topic level naming the kind (laichau/<kind>/<station>/data).
    pub fn topic(&self) -> &'static str {
        match self {
            Kind::Air => "air",
            Kind::Flood => "flood",
            Kind::Weather => "weather",
            Kind::Traffic => "traffic",
            Kind::Light => "light",
            Kind::Camera => "camera",
            Kind::Shelter => "shelter",
            Kind::Health => "health",
            Kind::FirePost => "fire",
        }
    }
}

/// One station: its code, name, commune, kind, and for a river its levels (base, alert,
/// danger, in metres above sea level). A silent one stopped reporting before the demo began.
pub struct Station {
    pub code: &'static str,
    pub name: &'static str,
    pub commune: &'static str,
    pub kind: Kind,
    pub levels: (f64, f64, f64),
    pub silent: bool,
}

const fn st(code: &'static str, name: &'static str, commune: &'static str, kind: Kind) -> Station {
    Station { code, name, commune, kind, levels: (0.0, 0.0, 0.0), silent: false }
}

const fn river(
    code: &'static str,
    name: &'static str,
    commune: &'static str,
    levels: (f64, f64, f64),
) -> Station {
    Station { code, name, commune, kind: Kind::Flood, levels, silent: false }
}

const fn silent(s: Station) -> Station {
    Station { silent: true, ..s }
}

pub const STATIONS: &[Station] = &[
    st("kk-tan-phong", "Trạm quan trắc không khí Tân Phong", "03408", Kind::Air),
    st("kk-doan-ket", "Trạm quan trắc không khí Đoàn Kết", "03388", Kind::Air),
    st("kk-binh-lu", "Trạm quan trắc không khí Bình Lư", "03390", Kind::Air),
    st("kk-than-uyen", "Trạm quan trắc không khí Than Uyên", "03595", Kind::Air),
    st("kk-tan-uyen", "Trạm quan trắc không khí Tân Uyên", "03598", Kind::Air),
    silent(st("kk-phong-tho", "Trạm quan trắc không khí Phong Thổ", "03549", Kind::Air)),
    river("tv-nam-na", "Trạm thủy văn Nậm Na (Pa Tần)", "03503", (183.4, 186.0, 188.0)),
    river("tv-nam-mu", "Trạm thủy văn Nậm Mu (Mường Kim)", "03637", (312.9, 316.5, 318.0)),
    river("tv-song-da", "Trạm thủy văn sông Đà (Mường Tè)", "03445", (290.2, 295.0, 297.0)),
    river("tv-nam-lum", "Trạm thủy văn Nậm Lụm (Pa Ủ)", "03442", (410.0, 413.0, 414.5)),
    silent(river("tv-nam-ma", "Trạm thủy văn Nậm Mạ (Nậm Mạ)", "03538", (520.0, 523.0, 525.0))),
    st("tam-duong", "Trạm khí tượng Tam Đường", "03390", Kind::Weather),
    st("tan-phong", "Trạm khí tượng Tân Phong", "03408", Kind::Weather),
    st("phong-tho", "Trạm khí tượng Phong Thổ", "03549", Kind::Weather),
    st("sin-ho", "Trạm khí tượng Sìn Hồ", "03478", Kind::Weather),
    st("muong-te", "Trạm khí tượng Mường Tè", "03445", Kind::Weather),
    st("than-uyen", "Trạm khí tượng Than Uyên", "03595", Kind::Weather),
    st("tan-uyen", "Trạm khí tượng Tân Uyên", "03598", Kind::Weather),
    st("nam-nhun", "Trạm khí tượng Nậm Hàng", "03434", Kind::Weather),
    st("dx-o-quy-ho", "Đếm xe QL4D – đèo Ô Quy Hồ", "03390", Kind::Traffic),
    st("dx-khau-co", "Đếm xe QL32 – đèo Khau Co", "03601", Kind::Traffic),
    st("dx-sin-ho", "Đếm xe QL12 – dốc Sìn Hồ", "03478", Kind::Traffic),
    st("dx-ma-lu-thang", "Đếm xe QL4D – cửa khẩu Ma Lù Thàng", "03549", Kind::Traffic),
    st("den-le-loi-01", "Đèn đại lộ Lê Lợi 01", "03408", Kind::Light),
    st("den-le-loi-02", "Đèn đại lộ Lê Lợi 02", "03408", Kind::Light),
    st("den-le-loi-03", "Đèn đại lộ Lê Lợi 03", "03408", Kind::Light),
    st("den-tran-phu-01", "Đèn đường Trần Phú 01", "03388", Kind::Light),
    st("den-tran-phu-02", "Đèn đường Trần Phú 02", "03388", Kind::Light),
    st("cam-tran-hung-dao", "Camera ngã tư Trần Hưng Đạo", "03408", Kind::Camera),
    st("cam-cau-nam-na", "Camera cầu Nậm Na", "03503", Kind::Camera),
    st("cam-o-quy-ho", "Camera đèo Ô Quy Hồ", "03390", Kind::Camera),
    silent(st("cam-ma-lu-thang", "Camera cửa khẩu Ma Lù Thàng", "03549", Kind::Camera)),
    st("sotan-pa-tan", "Điểm sơ tán trường THCS Pa Tần", "03503", Kind::Shelter),
    st("sotan-muong-te", "Điểm sơ tán nhà văn hóa Mường Tè", "03445", Kind::Shelter),
    st("sotan-sin-ho", "Điểm sơ tán trụ sở UBND xã Sìn Hồ", "03478", Kind::Shelter),
    st("tyt-tan-phong", "Trạm y tế phường Tân Phong", "03408", Kind::Health),
    st("tyt-phong-tho", "Trạm y tế xã Phong Thổ", "03549", Kind::Health),
    st("tyt-muong-te", "Trạm y tế xã Mường Tè", "03445", Kind::Health),
    st("tyt-than-uyen", "Trạm y tế xã Than Uyên", "03595", Kind::Health),
    st("pccc-doan-ket", "Đội Cảnh sát PCCC và CNCH khu vực Đoàn Kết", "03388", Kind::FirePost),
    st("pccc-than-uyen", "Đội Cảnh sát PCCC và CNCH khu vực Than Uyên", "03595", Kind::FirePost),
];

/// (dataset id, provider code, kinds, name, frequency, sharing, rules, expected per unit)
struct DatasetSeed {
    id: &'static str,
    provider: &'static str,
    kind: Option<Kind>,
    type_name: &'static str,
    name: &'static str,
    description: &'static str,
    frequency: &'static str,
    sharing: &'static str,
    rules: Value,
    extra_expected: &'static [&'static str],
    approved: bool,
}

fn seeds() -> Vec<DatasetSeed> {
    let seed = |id, provider, kind: Kind, name, description, frequency| DatasetSeed {
        id,
        provider,
        kind: Some(kind),
        type_name: kind.entity_type(),
        name,
        description,
        frequency,
        sharing: "default",
        rules: Value::Null,
        extra_expected: &[],
        approved: true,
    };
    vec![
        DatasetSeed {
            rules: json!({"ranges": {"pm25": {"min": 0, "max": 1000}, "pm10": {"min": 0, "max": 2000}},
                          "outliers": {"pm25": {"method": "range", "max": 150}}, "required": ["pm25", "pm10"]}),
            // Sìn Hồ's station is expected and not yet installed: "đủ" shows it.
            extra_expected: &["03478"],
            ..seed(
                "quan-trac-khong-khi",
                "so-nn-mt",
                Kind::Air,
                "Quan trắc không khí tự động",
                "Bụi mịn PM2.5, PM10, NO₂ tại các trạm tự động của Sở Nông nghiệp và Môi trường.",
                "PT15M",
            )
        },
        DatasetSeed {
            rules: json!({"required": ["currentLevel", "alertLevel", "dangerLevel"]}),
            ..seed(
                "muc-nuoc-song-suoi",
                "so-nn-mt",
                Kind::Flood,
                "Mực nước sông, suối – cảnh báo lũ quét",
                "Mực nước tại các trạm thủy văn, với mức báo động và mức nguy hiểm của từng trạm.",
                "PT10M",
            )
        },
        DatasetSeed {
            rules: json!({"ranges": {"temperature": {"min": -10, "max": 45}, "precipitation": {"min": 0, "max": 400}},
                          "outliers": {"temperature": {"method": "zscore", "threshold": 4}}}),
            ..seed(
                "khi-tuong-luong-mua",
                "so-nn-mt",
                Kind::Weather,
                "Khí tượng và lượng mưa",
                "Nhiệt độ, độ ẩm, lượng mưa tại các trạm khí tượng tự động.",
                "hourly",
            )
        },
        DatasetSeed {
            rules: json!({"ranges": {"intensity": {"min": 0, "max": 5000}}}),
            ..seed(
                "dem-luu-luong-xe",
                "so-xay-dung",
                Kind::Traffic,
                "Lưu lượng xe trên các đèo, quốc lộ",
                "Số xe mỗi giờ và tốc độ trung bình tại các trạm đếm xe của Sở Xây dựng.",
                "PT15M",
            )
        },
        seed(
            "den-chieu-sang-tan-phong",
            "ubnd-03408",
            Kind::Light,
            "Đèn chiếu sáng công cộng phường Tân Phong",
            "Trạng thái bật, tắt và độ sáng của đèn đường do phường quản lý.",
            "hourly",
        ),
        seed(
            "den-chieu-sang-doan-ket",
            "ubnd-03388",
            Kind::Light,
            "Đèn chiếu sáng công cộng phường Đoàn Kết",
            "Trạng thái bật, tắt và độ sáng của đèn đường do phường quản lý.",
            "hourly",
        ),
        DatasetSeed {
            sharing: "special_request",
            ..seed(
                "camera-giam-sat",
                "cong-an",
                Kind::Camera,
                "Camera giám sát giao thông, an ninh",
                "Camera của Công an tỉnh; chỉ đơn vị được cấp quyền theo thỏa thuận mới khai thác.",
                "daily",
            )
        },
        seed(
            "diem-so-tan",
            "so-nn-mt",
            Kind::Shelter,
            "Điểm sơ tán, trú tránh thiên tai",
            "Các điểm sơ tán dân khi có lũ quét, sạt lở, với sức chứa và số người đang trú.",
            "daily",
        ),
        seed(
            "tram-y-te",
            "so-y-te",
            Kind::Health,
            "Trạm y tế xã, phường",
            "Vị trí, số giường và tình trạng hoạt động của trạm y tế.",
            "weekly",
        ),
        seed(
            "diem-pccc-cnch",
            "cong-an",
            Kind::FirePost,
            "Lực lượng PCCC và cứu nạn, cứu hộ",
            "Vị trí các đội Cảnh sát PCCC và CNCH.",
            "weekly",
        ),
        DatasetSeed {
            kind: None,
            type_name: "WeatherObserved",
            rules: json!({"ranges": {"precipitation": {"min": 0, "max": 400}}, "required": ["precipitation"]}),
            ..seed(
                "luong-mua-xa-sin-ho",
                "ubnd-03478",
                Kind::Weather,
                "Lượng mưa tại các bản, xã Sìn Hồ (biểu mẫu)",
                "Xã chưa có trạm tự động gửi biểu mẫu lượng mưa hai lần mỗi tuần.",
                "monday_thursday",
            )
        },
        DatasetSeed {
            kind: None,
            type_name: "WaterQualityObserved",
            approved: false,
            ..seed(
                "chat-luong-nuoc-mat",
                "so-nn-mt",
                Kind::Air,
                "Chất lượng nước mặt (thử nghiệm)",
                "Đang thử nghiệm: số liệu được giữ lại cho đến khi Trung tâm phê duyệt.",
                "daily",
            )
        },
    ]
}

/// The data provider of an organisation, as the demo's systems write.
pub fn provider_subject(org_id: &str, code: &str) -> Subject {
    Subject {
        user_id: String::new(),
        username: format!("demo-{code}"),
        role: Role::DataProvider,
        org_id: org_id.to_string(),
        acting_for: vec![],
        token_scopes: None,
        token_id: None,
        source_ip: None,
    }
}

/// Which organisation runs each kind of station (for the simulator).
pub fn provider_of(kind: Kind, commune: &str) -> String {
    match kind {
        Kind::Air | Kind::Flood | Kind::Weather | Kind::Shelter => "so-nn-mt".into(),
        Kind::Traffic => "so-xay-dung".into(),
        Kind::Light => format!("ubnd-{commune}"),
        Kind::Camera | Kind::FirePost => "cong-an".into(),
        Kind::Health => "so-y-te".into(),
    }
}

pub fn entity_id(s: &Station) -> String {
    match s.kind {
        Kind::Weather => format!("urn:ngsi-ld:WeatherObserved:lai-chau-{}", s.code),
        k => format!("urn:ngsi-ld:{}:{}", k.entity_type(), s.code),
    }
}

/// A point inside each unit that has a boundary.
pub async fn commune_points(state: &AppState) -> anyhow::Result<HashMap<String, (f64, f64)>> {
    let units = state.units.all_with_geometry().await?;
    let mut inside: HashMap<String, (f64, f64)> = HashMap::new();
    for u in &units {
        let Some(g) = u.geometry.as_deref().and_then(|t| t.parse::<geojson::Geometry>().ok()) else {
            continue;
        };
        let Ok(shape) = geo::Geometry::<f64>::try_from(g) else { continue };
        if let Some(p) = shape.interior_point() {
            inside.insert(u.code.clone(), (p.x(), p.y()));
        }
    }
    Ok(inside)
}

/// A point inside each commune, and a small offset for the n-th station there, so stations of
/// one commune do not sit on one another.
pub async fn positions(state: &AppState) -> anyhow::Result<HashMap<&'static str, (f64, f64)>> {
    let inside = commune_points(state).await?;
    let mut count: HashMap<&str, usize> = HashMap::new();
    let mut out = HashMap::new();
    for s in STATIONS {
        let n = count.entry(s.commune).or_default();
        let (lon, lat) = inside.get(s.commune).copied().ok_or_else(|| anyhow!("no commune {}", s.commune))?;
        // A spiral of about 400 m steps: inside all but the thinnest communes.
        let angle = *n as f64 * 2.4;
        let r = 0.004 * (*n as f64).sqrt();
        out.insert(s.code, (lon + r * angle.cos(), lat + r * angle.sin()));
        *n += 1;
    }
    Ok(out)
}

/// The datasets, approved by the demo's supervisor (but one), and the grant of the police's
/// cameras to the Department of Construction. Skipped when they are there.
pub async fn seed_datasets(state: &AppState) -> anyhow::Result<bool> {
    if !state.store.list_datasets().await?.is_empty() {
        return Ok(false);
    }
    let supervisor =
        state.accounts.find_user("supervisor").await.map_err(|e| anyhow!("demo supervisor: {e}"))?;
    let sup = Subject::of_user(&supervisor);
    for s in seeds() {
        let org = state
            .store
            .get_org_by_code(s.provider)
            .await?
            .ok_or_else(|| anyhow!("no organisation {}", s.provider))?;
        let mut per_unit: HashMap<&str, u32> = HashMap::new();
        if let Some(kind) = s.kind {
            for st in
                STATIONS.iter().filter(|st| st.kind == kind && provider_of(kind, st.commune) == s.provider)
            {
                *per_unit.entry(st.commune).or_default() += 1;
            }
        }
        for extra in s.extra_expected {
            *per_unit.entry(extra).or_default() += 1;
        }
        let mut body = json!({"id": s.id, "name": s.name, "description": s.description, "type": s.type_name,
                              "provider": org.id, "frequency": s.frequency, "sharing": s.sharing});
        if !s.rules.is_null() {
            body["rules"] = s.rules.clone();
        }
        if !per_unit.is_empty() {
            body["expected"] = json!({"per_unit": per_unit});
        }
        state.datasets.create(&sup, &body).await.map_err(|e| anyhow!("demo dataset {}: {e}", s.id))?;
        if s.approved {
            state.datasets.approve(&sup, s.id).await.map_err(|e| anyhow!("approving {}: {e}", s.id))?;
        }
    }
    let construction =
        state.store.get_org_by_code("so-xay-dung").await?.ok_or_else(|| anyhow!("so-xay-dung"))?;
    let grant = haidang_core::datasets::GrantSpec {
        consumer: haidang_core::datasets::model::Consumer::Org(construction.id),
        read: true,
        write: false,
        expires_at: None,
        agreement_ref: "15/TT-CAT-SXD".into(),
    };
    state.datasets.grant(&sup, "camera-giam-sat", grant).await.map_err(|e| anyhow!("demo grant: {e}"))?;
    let _ = (DatasetState::Draft, Expected::Entities(vec![]));
    Ok(true)
}

/// The stations as their providers' systems first report them: static attributes, place and a
/// first reading (silent ones three hours old, and never again).
pub async fn seed_stations(state: &AppState) -> anyhow::Result<bool> {
    let ctx = haidang_core::hub::contexts::core_arc();
    if state.hub.place_of(&entity_id(&STATIONS[0])).is_some() {
        return Ok(false);
    }
    let places = positions(state).await?;
    let now = jiff::Timestamp::now();
    let mut by_provider: HashMap<String, Vec<EntityOp>> = HashMap::new();
    for s in STATIONS {
        let (lon, lat) = places.get(s.code).copied().unwrap_or((103.4, 22.4));
        let at = if s.silent { now - jiff::SignedDuration::from_hours(3) } else { now };
        let mut body = crate::simulator::reading(s, at, &crate::simulator::Weather::calm(), 0);
        body["name"] = json!({"type": "Property", "value": s.name});
        body["location"] =
            json!({"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, lat]}});
        for (k, v) in crate::simulator::fixed(s) {
            body[k] = v;
        }
        let e = haidang_core::hub::entity::parse_entity(&body)
            .map_err(|e| anyhow!("demo station {}: {e}", s.code))?;
        by_provider
            .entry(provider_of(s.kind, s.commune))
            .or_default()
            .push(EntityOp::Create(e.map_names(&|n| ctx.expand(n))));
    }
    // The draft dataset's first readings, held back until it is approved.
    let water = json!({"id": "urn:ngsi-ld:WaterQualityObserved:nam-na-pa-tan", "type": "WaterQualityObserved",
        "name": {"type": "Property", "value": "Điểm lấy mẫu nước Nậm Na"},
        "dateObserved": {"type": "Property", "value": now.to_string()},
        "temperature": {"type": "Property", "value": 19.5, "observedAt": now.to_string()},
        "pH": {"type": "Property", "value": 7.4, "observedAt": now.to_string()},
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [103.27, 22.5]}}});
    let e = haidang_core::hub::entity::parse_entity(&water).map_err(|e| anyhow!("demo water: {e}"))?;
    by_provider.entry("so-nn-mt".into()).or_default().push(EntityOp::Create(e.map_names(&|n| ctx.expand(n))));
    for (code, ops) in by_provider {
        let org =
            state.store.get_org_by_code(&code).await?.ok_or_else(|| anyhow!("no organisation {code}"))?;
        let subject = provider_subject(&org.id, &code);
        for r in
            state.hub.write(&subject, "entity.batch", ops, ctx.clone()).await.map_err(|e| anyhow!("{e}"))?
        {
            r.map_err(|e| anyhow!("demo station refused: {e}"))?;
        }
    }
    Ok(true)
}
