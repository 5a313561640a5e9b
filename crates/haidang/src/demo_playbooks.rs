//! The demo's playbooks ("kịch bản ứng phó"), written as a provincial steering committee for
//! disaster prevention would: flash flood and landslide, forest fire, epidemic, and a traffic
//! accident on a mountain pass. Each step that falls to an agency becomes a task with its
//! deadline when the playbook is activated.

use anyhow::anyhow;
use haidang_core::accounts::{Role, Subject};
use haidang_core::incidents::model::{MessageTemplate, PlaybookAgency, PlaybookStep};
use haidang_core::incidents::{IncidentType, Playbook};
use haidang_server::state::AppState;

fn step(text: &str, org: Option<&str>, due_minutes: Option<u32>) -> PlaybookStep {
    PlaybookStep { text: text.into(), org: org.map(str::to_string), due_minutes }
}

fn agency(org: &str, role: &str) -> PlaybookAgency {
    PlaybookAgency { org: org.into(), role: role.into() }
}

fn message(name: &str, text: &str) -> MessageTemplate {
    MessageTemplate { name: name.into(), text: text.into() }
}

fn playbook(id: &str, name: &str, incident_type: IncidentType, description: &str) -> Playbook {
    Playbook {
        id: id.into(),
        name: name.into(),
        incident_type,
        description: description.into(),
        steps: vec![],
        agencies: vec![],
        messages: vec![],
        version: 0,
        updated_by: String::new(),
        updated_at: haidang_core::time::now(),
    }
}

pub fn playbooks() -> Vec<Playbook> {
    let mut flood = playbook(
        "kb-lu-quet-sat-lo",
        "Ứng phó lũ quét, sạt lở đất",
        IncidentType::FloodLandslide,
        "Khi mực nước vượt mức nguy hiểm hoặc có sạt lở đe dọa khu dân cư, tuyến đường.",
    );
    flood.steps = vec![
        step("Xác minh hiện trường qua camera và cán bộ xã; báo cáo lãnh đạo trực ban", None, None),
        step("Sơ tán người dân vùng nguy cơ đến điểm sơ tán gần nhất", Some("cong-an"), Some(60)),
        step("Cấm đường, lập chốt cảnh giới tại các điểm ngầm tràn, sạt lở", Some("so-xay-dung"), Some(45)),
        step("Kiểm tra, vận hành an toàn hồ đập; báo cáo mực nước mỗi giờ", Some("so-nn-mt"), Some(60)),
        step("Tổ chức đội cấp cứu cơ động, chuẩn bị cơ số thuốc", Some("so-y-te"), Some(90)),
        step("Cắt điện khu vực ngập, bảo đảm an toàn lưới điện", Some("pc-lai-chau"), Some(30)),
        step("Phát cảnh báo công khai cho các xã bị ảnh hưởng", None, None),
    ];
    flood.agencies = vec![
        agency("cong-an", "Cứu nạn, cứu hộ; sơ tán dân"),
        agency("so-nn-mt", "Thường trực Ban Chỉ huy phòng chống thiên tai"),
        agency("so-xay-dung", "Giao thông, cấm đường"),
        agency("so-y-te", "Cấp cứu, y tế"),
        agency("pc-lai-chau", "An toàn lưới điện"),
    ];
    flood.messages = vec![
        message("Tin nhắn cảnh báo người dân", "[UBND tỉnh Lai Châu] Cảnh báo lũ quét, sạt lở đất tại {xa}. Người dân tuyệt đối không qua ngầm tràn, di chuyển ngay đến điểm sơ tán {diem_so_tan}. Gọi 114 khi cần cứu hộ."),
        message("Báo cáo nhanh lãnh đạo", "Hồi {gio} ngày {ngay}, mực nước {tram} đạt {muc_nuoc} m, vượt mức nguy hiểm. Trung tâm đã kích hoạt kịch bản ứng phó lũ quét, sạt lở; đã giao nhiệm vụ cho các đơn vị."),
    ];

    let mut fire = playbook(
        "kb-chay-rung",
        "Ứng phó cháy rừng",
        IncidentType::Fire,
        "Điểm cháy phát hiện qua vệ tinh, camera hoặc người dân báo; cấp dự báo cháy rừng IV–V.",
    );
    fire.steps = vec![
        step("Xác minh điểm cháy (tọa độ, diện tích, hướng gió) với kiểm lâm địa bàn", None, None),
        step("Điều lực lượng chữa cháy, cứu nạn đến hiện trường", Some("cong-an"), Some(30)),
        step(
            "Huy động lực lượng kiểm lâm, dân quân tại chỗ; khoanh vùng, làm đường băng cản lửa",
            Some("so-nn-mt"),
            Some(60),
        ),
        step("Bố trí xe cứu thương, trạm sơ cứu tại hiện trường", Some("so-y-te"), Some(45)),
        step("Báo cáo diễn biến mỗi 30 phút đến khi dập tắt hoàn toàn", None, None),
    ];
    fire.agencies = vec![
        agency("cong-an", "Cảnh sát PCCC và CNCH"),
        agency("so-nn-mt", "Kiểm lâm"),
        agency("so-y-te", "Y tế"),
    ];
    fire.messages = vec![message(
        "Lệnh huy động",
        "Trung tâm điều hành thông minh đề nghị {don_vi} cử lực lượng đến {vi_tri} chữa cháy rừng, có mặt trước {gio}.",
    )];

    let mut epidemic = playbook(
        "kb-dich-benh",
        "Ứng phó dịch bệnh truyền nhiễm",
        IncidentType::Epidemic,
        "Ổ dịch mới hoặc số ca mắc tăng đột biến trên một xã.",
    );
    epidemic.steps = vec![
        step("Điều tra dịch tễ, khoanh vùng ổ dịch, lấy mẫu xét nghiệm", Some("so-y-te"), Some(240)),
        step("Bảo đảm an ninh trật tự khu vực cách ly", Some("cong-an"), Some(240)),
        step("Rà soát trường học trong vùng dịch, tổ chức học tập phù hợp", Some("so-gd-dt"), Some(1440)),
        step("Thông tin cho báo chí và người dân, chống tin giả", Some("so-vh-tt-dl"), Some(480)),
    ];
    epidemic.agencies = vec![
        agency("so-y-te", "Chủ trì"),
        agency("cong-an", "An ninh trật tự"),
        agency("so-gd-dt", "Trường học"),
    ];
    epidemic.messages = vec![message(
        "Khuyến cáo người dân",
        "[Sở Y tế Lai Châu] Ghi nhận ổ dịch {benh} tại {xa}. Người dân có triệu chứng {trieu_chung} đến ngay trạm y tế gần nhất; không tự ý dùng thuốc.",
    )];

    let mut pass = playbook(
        "kb-tai-nan-deo",
        "Tai nạn giao thông trên đèo",
        IncidentType::TrafficAccident,
        "Tai nạn có thương vong hoặc ách tắc trên đèo Ô Quy Hồ, Khau Co, dốc Sìn Hồ.",
    );
    pass.steps = vec![
        step("Xác minh qua camera đèo và điện thoại người báo; ước số người bị nạn", None, None),
        step("Cảnh sát giao thông đến hiện trường, phân luồng, điều tra", Some("cong-an"), Some(30)),
        step("Xe cấp cứu 115 đến hiện trường, chuyển người bị nạn", Some("so-y-te"), Some(40)),
        step("Cứu hộ phương tiện, thông đường, kiểm tra taluy và hộ lan", Some("so-xay-dung"), Some(120)),
        step("Thông báo phân luồng trên loa, mạng xã hội và bảng điện tử", None, None),
    ];
    pass.agencies = vec![
        agency("cong-an", "Cảnh sát giao thông"),
        agency("so-y-te", "Cấp cứu 115"),
        agency("so-xay-dung", "Cứu hộ, thông đường"),
    ];
    pass.messages = vec![message(
        "Thông báo phân luồng",
        "Do tai nạn trên {deo}, phương tiện đi {huong} tạm dừng/đi đường {duong_tranh} từ {gio}. Đề nghị người tham gia giao thông chấp hành hướng dẫn của lực lượng chức năng.",
    )];
    vec![flood, fire, epidemic, pass]
}

/// Saves the playbooks the store does not have yet.
pub async fn seed(state: &AppState) -> anyhow::Result<bool> {
    let by = Subject { username: "demo".into(), role: Role::Supervisor, ..Subject::cli() };
    let have: Vec<String> = state.incidents.playbooks(&by).await?.into_iter().map(|p| p.id).collect();
    let mut added = false;
    for p in playbooks().into_iter().filter(|p| !have.contains(&p.id)) {
        let id = p.id.clone();
        state.incidents.save_playbook(&by, p, None).await.map_err(|e| anyhow!("demo playbook {id}: {e}"))?;
        added = true;
    }
    Ok(added)
}
