use gq::hub::geoquery::GeoQuery;
#[test]
fn show() {
    for (r, g, c) in [("within","Polygon",serde_json::json!([[[103,22],[104,22],[104,23],[103,23]]])),("near;maxDistance=1000","Point",serde_json::json!([103,22])),("near","Point",serde_json::json!([103,22])),("intersects","Point",serde_json::json!([103,95]))] {
        println!("{}", GeoQuery::parse(r,g,&c,None).err().map(|e| e.to_string()).unwrap_or_default());
    }
}
