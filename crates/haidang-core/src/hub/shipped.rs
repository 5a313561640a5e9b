//! The Smart Data Models shipped in the binary (data/smart-data-models, CC-BY-4.0, attribution
//! "Smart Data Models (smartdatamodels.org)"): one schema per entity type, and the shared
//! definitions their `$ref`s name by URL, resolved to these copies and never fetched.

/// Shared definitions: (every URL a schema may use for it, the file).
pub const SHARED: &[(&[&str], &str)] = &[
    (
        &["https://smart-data-models.github.io/data-models/common-schema.json"],
        include_str!("../../../../data/smart-data-models/common-schema.json"),
    ),
    (
        &[
            "https://smart-data-models.github.io/dataModel.Environment/Environment-schema.json",
            "https://raw.githubusercontent.com/smart-data-models/dataModel.Environment/master/Environment-schema.json",
        ],
        include_str!("../../../../data/smart-data-models/Environment-schema.json"),
    ),
    (
        &["https://smart-data-models.github.io/dataModel.Alert/alert-schema.json"],
        include_str!("../../../../data/smart-data-models/alert-schema.json"),
    ),
    (
        &["https://smart-data-models.github.io/dataModel.Weather/weather-schema.json"],
        include_str!("../../../../data/smart-data-models/weather-schema.json"),
    ),
    (
        &["https://smart-data-models.github.io/dataModel.Device/device-schema.json"],
        include_str!("../../../../data/smart-data-models/device-schema.json"),
    ),
];

/// (entity type, its schema).
pub const TYPES: &[(&str, &str)] = &[
    ("AirQualityObserved", include_str!("../../../../data/smart-data-models/AirQualityObserved/schema.json")),
    ("Alert", include_str!("../../../../data/smart-data-models/Alert/schema.json")),
    ("Camera", include_str!("../../../../data/smart-data-models/Camera/schema.json")),
    ("Device", include_str!("../../../../data/smart-data-models/Device/schema.json")),
    ("FloodMonitoring", include_str!("../../../../data/smart-data-models/FloodMonitoring/schema.json")),
    (
        "KeyPerformanceIndicator",
        include_str!("../../../../data/smart-data-models/KeyPerformanceIndicator/schema.json"),
    ),
    ("NoiseLevelObserved", include_str!("../../../../data/smart-data-models/NoiseLevelObserved/schema.json")),
    ("OffStreetParking", include_str!("../../../../data/smart-data-models/OffStreetParking/schema.json")),
    ("PointOfInterest", include_str!("../../../../data/smart-data-models/PointOfInterest/schema.json")),
    ("RoadAccident", include_str!("../../../../data/smart-data-models/RoadAccident/schema.json")),
    ("Streetlight", include_str!("../../../../data/smart-data-models/Streetlight/schema.json")),
    (
        "TrafficFlowObserved",
        include_str!("../../../../data/smart-data-models/TrafficFlowObserved/schema.json"),
    ),
    ("WasteContainer", include_str!("../../../../data/smart-data-models/WasteContainer/schema.json")),
    (
        "WaterQualityObserved",
        include_str!("../../../../data/smart-data-models/WaterQualityObserved/schema.json"),
    ),
    ("WeatherAlert", include_str!("../../../../data/smart-data-models/WeatherAlert/schema.json")),
    ("WeatherObserved", include_str!("../../../../data/smart-data-models/WeatherObserved/schema.json")),
];
