//! The schema files in schemas/ are exactly what the code writes.

use jwas::columns::render;
use jwas::LogType;

#[test]
fn schema_files_equal_the_written_arrow_schemas() {
    for t in LogType::ALL {
        let path = format!("{}/schemas/{}.yml", env!("CARGO_MANIFEST_DIR"), t.name());
        let file = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(
            file,
            render::yaml(t),
            "{path} differs: regenerate with scripts/schemas.sh"
        );
        // Every YAML field is an Arrow field of the same name, in the same order.
        let names: Vec<&str> = file
            .lines()
            .filter_map(|l| l.strip_prefix("  - name: "))
            .collect();
        let schema = jwas::columns::schema(t);
        let arrow: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, arrow);
        let types: Vec<&str> = file
            .lines()
            .filter_map(|l| l.strip_prefix("    type: "))
            .collect();
        for (f, ty) in schema.fields().iter().zip(types) {
            let want = match f.data_type() {
                arrow_schema::DataType::Utf8 => "string",
                arrow_schema::DataType::Int16 => "smallint",
                arrow_schema::DataType::Int32 => "int",
                arrow_schema::DataType::Int64 => "bigint",
                arrow_schema::DataType::Boolean => "boolean",
                arrow_schema::DataType::Timestamp(
                    arrow_schema::TimeUnit::Millisecond,
                    Some(tz),
                ) if tz.as_ref() == "UTC" => "timestamp",
                arrow_schema::DataType::List(_) => "array",
                arrow_schema::DataType::Map(..) => "map",
                other => panic!("unexpected type {other}"),
            };
            assert_eq!(ty, want, "{}", f.name());
        }
    }
}
