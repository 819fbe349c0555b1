//! Files from the encoder, read back with parquet-rs: values, schema, statistics.

use super::*;
use crate::sink::ndjson;
use arrow_array::builder::{
    BooleanBuilder, Int16Builder, Int32Builder, Int64Builder, ListBuilder, MapBuilder,
    StringBuilder, TimestampMillisecondBuilder,
};
use arrow_array::ArrayRef;
use arrow_schema::DataType;
use bytes::Bytes;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::file::reader::{FileReader, SerializedFileReader};
use std::sync::Arc;

use crate::testing::Rng;

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// A string: from a small set (dictionary-friendly) or unique, sometimes long or
    /// not ASCII.
    fn string(&mut self, distinct: u64) -> String {
        match self.below(20) {
            0 => "é€😀".repeat(1 + self.below(40) as usize),
            1 => "x".repeat(60 + self.below(200) as usize),
            _ if distinct > 0 => format!("value-{}", self.below(distinct)),
            _ => format!("unique-{}-{}", self.next(), self.next()),
        }
    }
}

/// Random rows for `log_type`'s schema: nulls, empty and null lists and maps, low- and
/// high-cardinality strings.
fn batch(log_type: LogType, rows: usize, rng: &mut Rng, distinct: u64) -> RecordBatch {
    let schema = crate::columns::schema(log_type);
    let null = |rng: &mut Rng, f: &arrow_schema::Field| f.is_nullable() && rng.below(4) == 0;
    let columns: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|f| -> ArrayRef {
            match f.data_type() {
                DataType::Utf8 => {
                    let mut b = StringBuilder::new();
                    for _ in 0..rows {
                        let v = rng.string(distinct);
                        b.append_option((!null(rng, f)).then_some(v));
                    }
                    Arc::new(b.finish())
                }
                DataType::Int16 => {
                    let mut b = Int16Builder::new();
                    for _ in 0..rows {
                        let v = rng.next() as i16;
                        b.append_option((!null(rng, f)).then_some(v));
                    }
                    Arc::new(b.finish())
                }
                DataType::Int32 => {
                    let mut b = Int32Builder::new();
                    for _ in 0..rows {
                        let v = rng.next() as i32;
                        b.append_option((!null(rng, f)).then_some(v));
                    }
                    Arc::new(b.finish())
                }
                DataType::Int64 => {
                    let mut b = Int64Builder::new();
                    for _ in 0..rows {
                        let v = (rng.next() << 20) as i64 - (1 << 40);
                        b.append_option((!null(rng, f)).then_some(v));
                    }
                    Arc::new(b.finish())
                }
                DataType::Boolean => {
                    let mut b = BooleanBuilder::new();
                    for _ in 0..rows {
                        let v = rng.below(3) == 0;
                        b.append_option((!null(rng, f)).then_some(v));
                    }
                    Arc::new(b.finish())
                }
                DataType::Timestamp(..) => {
                    let mut b = TimestampMillisecondBuilder::new().with_timezone("UTC");
                    for _ in 0..rows {
                        let v = 1_700_000_000_000 + rng.below(1 << 30) as i64;
                        b.append_option((!null(rng, f)).then_some(v));
                    }
                    Arc::new(b.finish())
                }
                DataType::List(_) => {
                    let mut b = ListBuilder::new(StringBuilder::new());
                    for _ in 0..rows {
                        let n = rng.below(4);
                        for _ in 0..n {
                            let v = rng.string(distinct);
                            b.values().append_value(v);
                        }
                        b.append(n > 0 || rng.below(2) == 0);
                    }
                    Arc::new(b.finish())
                }
                DataType::Map(..) => {
                    let mut b = MapBuilder::new(None, StringBuilder::new(), StringBuilder::new());
                    for _ in 0..rows {
                        let n = rng.below(4);
                        for _ in 0..n {
                            let (k, v) = (rng.string(distinct), rng.string(0));
                            b.keys().append_value(k);
                            b.values().append_option((rng.below(5) > 0).then_some(v));
                        }
                        b.append(n > 0 || rng.below(2) == 0).unwrap();
                    }
                    Arc::new(b.finish())
                }
                other => panic!("no generator for {other}"),
            }
        })
        .collect();
    RecordBatch::try_new(schema, columns).unwrap()
}

fn rows_as_json(batches: &[RecordBatch]) -> Vec<String> {
    let mut out = Vec::new();
    for b in batches {
        ndjson::write_batch(&mut out, b).unwrap();
    }
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Encodes `groups` (each a list of batches = one row group) into a file.
fn encode(log_type: LogType, compression: Compression, groups: &[Vec<RecordBatch>]) -> Vec<u8> {
    let mut state = EncoderState::default();
    let mut out = Vec::new();
    let mut file_bytes = Vec::new();
    let mut f = ParquetFile::new(log_type, compression, &mut out);
    for g in groups {
        f.write_row_group(g, &mut state, &mut out).unwrap();
        // Written out after each row group, as for a large file.
        file_bytes.append(&mut out);
    }
    f.finish(&mut out).unwrap();
    file_bytes.append(&mut out);
    file_bytes
}

fn read(data: Vec<u8>) -> Vec<RecordBatch> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(Bytes::from(data))
        .unwrap()
        .with_batch_size(1000)
        .build()
        .unwrap();
    reader.map(Result::unwrap).collect()
}

/// Compares rows, showing the first difference.
fn same_rows(got: &[String], want: &[String], what: &str) {
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        if g != w {
            let common = g.bytes().zip(w.bytes()).take_while(|(a, b)| a == b).count();
            let from = common.saturating_sub(80);
            panic!(
                "{what}: row {i} differs:\n got ...{}\nwant ...{}",
                &g[from..],
                &w[from..]
            );
        }
    }
    assert_eq!(got.len(), want.len(), "{what}: rows");
}

#[test]
fn every_table_round_trips_with_every_codec() {
    let mut rng = Rng(42);
    for t in LogType::ALL {
        for compression in [
            Compression::Zstd(1),
            Compression::Snappy,
            Compression::Gzip,
            Compression::None,
        ] {
            for distinct in [0, 3, 1000] {
                let a = batch(t, 700, &mut rng, distinct);
                let b = batch(t, 5, &mut rng, distinct);
                // Slices, as the sink hands them over, in two row groups.
                let groups = vec![vec![a.slice(100, 500), b.clone()], vec![a.slice(0, 3)]];
                let data = encode(t, compression, &groups);
                let back = read(data.clone());
                let want: Vec<RecordBatch> = groups.concat();
                same_rows(
                    &rows_as_json(&back),
                    &rows_as_json(&want),
                    &format!("{t} {compression:?}"),
                );
                assert_eq!(
                    back[0].schema().fields(),
                    crate::columns::schema(t).fields()
                );
                let meta = SerializedFileReader::new(Bytes::from(data)).unwrap();
                let kv = meta
                    .metadata()
                    .file_metadata()
                    .key_value_metadata()
                    .unwrap();
                assert!(kv
                    .iter()
                    .any(|k| k.key == "jwas.log_type" && k.value.as_deref() == Some(t.name())));
                assert_eq!(meta.metadata().num_row_groups(), 2);
            }
        }
    }
}

#[test]
fn pages_split_and_dictionaries_fall_back() {
    let mut rng = Rng(7);
    // 200k rows: several pages per column, dictionaries that grow past their limit.
    let big = batch(LogType::Mws, 60_000, &mut rng, 40_000);
    let groups = vec![vec![big.clone(), big.slice(1, 59_000)]];
    let data = encode(LogType::Mws, Compression::Zstd(1), &groups);
    same_rows(
        &rows_as_json(&read(data)),
        &rows_as_json(&groups.concat()),
        "mws",
    );
}

#[test]
fn statistics_are_min_max_and_null_count() {
    use parquet::file::statistics::Statistics;
    let mut rng = Rng(1);
    let b = batch(LogType::Firewall, 300, &mut rng, 50);
    let data = encode(LogType::Firewall, Compression::Zstd(1), &[vec![b.clone()]]);
    let reader = SerializedFileReader::new(Bytes::from(data)).unwrap();
    let rg = reader.metadata().row_group(0);
    let schema = b.schema();
    for (i, f) in schema.fields().iter().enumerate() {
        let col = rg
            .columns()
            .iter()
            .find(|c| c.column_path().parts()[0] == *f.name())
            .unwrap();
        let stats = col.statistics().unwrap();
        let array = b.column(i);
        if matches!(f.data_type(), DataType::Utf8 | DataType::Int32) {
            assert_eq!(
                stats.null_count_opt(),
                Some(array.null_count() as u64),
                "{}",
                f.name()
            );
        }
        match (stats, f.data_type()) {
            (Statistics::ByteArray(s), DataType::Utf8) => {
                let a = array
                    .as_any()
                    .downcast_ref::<arrow_array::StringArray>()
                    .unwrap();
                let values: Vec<&str> = a.iter().flatten().collect();
                let (lo, hi) = (values.iter().min().unwrap(), values.iter().max().unwrap());
                let min = s.min_opt().unwrap().as_utf8().unwrap();
                let max = s.max_opt().unwrap().as_utf8().unwrap();
                assert!(lo.starts_with(min) && min.len() <= 64, "{}", f.name());
                assert!(
                    max >= *hi && (max == *hi || max.len() <= 64),
                    "{}",
                    f.name()
                );
            }
            (Statistics::Int32(s), DataType::Int32) => {
                let a = array
                    .as_any()
                    .downcast_ref::<arrow_array::Int32Array>()
                    .unwrap();
                let values: Vec<i32> = a.iter().flatten().collect();
                assert_eq!(s.min_opt(), values.iter().min());
                assert_eq!(s.max_opt(), values.iter().max());
            }
            _ => {}
        }
    }
}

#[test]
fn string_statistics_are_cut_to_bounds() {
    assert_eq!(chunk::tests_support::min(&[b'a'; 100]), vec![b'a'; 64]);
    let mut max = vec![b'a'; 63];
    max.push(b'b');
    assert_eq!(chunk::tests_support::max(&[b'a'; 100]), Some(max));
    let s = "é".repeat(40);
    let min = chunk::tests_support::min(s.as_bytes());
    assert!(std::str::from_utf8(&min).is_ok() && min.len() <= 64);
}

#[test]
fn stored_zstd_frames_decompress_to_their_input() {
    let codec = Codec::new(Compression::Zstd(1)).unwrap();
    let mut rng = Rng(3);
    for len in [
        0,
        1,
        4095,
        ZSTD_RAW_BLOCK - 1,
        ZSTD_RAW_BLOCK,
        ZSTD_RAW_BLOCK + 1,
        300_000,
    ] {
        let input: Vec<u8> = (0..len).map(|_| rng.below(256) as u8).collect();
        let mut buf = Vec::new();
        let frame = codec.store(&input, &mut buf).unwrap().to_vec();
        assert_eq!(
            frame.len(),
            9 + 3 * len.div_ceil(ZSTD_RAW_BLOCK).max(1) + len
        );
        let back = zstd::bulk::decompress(&frame, len.max(1)).unwrap();
        assert_eq!(back, input, "{len} bytes");
        // The frame states its content size, as zstd's own frames do.
        assert_eq!(
            zstd::zstd_safe::get_frame_content_size(&frame).ok(),
            Some(Some(len as u64))
        );
    }
    assert!(Codec::new(Compression::Snappy)
        .unwrap()
        .store(b"x", &mut Vec::new())
        .is_none());
}

#[test]
fn small_index_pages_are_stored_and_read_back() {
    let mut rng = Rng(11);
    // 70 rows with 3 distinct values per string column: index pages of a few bytes.
    let groups = vec![vec![batch(LogType::Firewall, 70, &mut rng, 3)]];
    let data = encode(LogType::Firewall, Compression::Zstd(1), &groups);
    let stored = [0x28, 0xB5, 0x2F, 0xFD, 0b1010_0000];
    assert!(
        data.windows(stored.len()).any(|w| w == stored),
        "no page stored as raw zstd blocks"
    );
    same_rows(
        &rows_as_json(&read(data)),
        &rows_as_json(&groups.concat()),
        "firewall",
    );
}

#[test]
fn row_ids_are_plain_and_repeating_strings_keep_a_dictionary() {
    let mut rng = Rng(13);
    // A small file: far fewer rows than it takes to give up a dictionary of unique values.
    let groups = vec![vec![batch(LogType::Audit, 70, &mut rng, 3)]];
    let data = encode(LogType::Audit, Compression::Zstd(1), &groups);
    let reader = SerializedFileReader::new(Bytes::from(data)).unwrap();
    let group = reader.metadata().row_group(0);
    let has_dictionary = |name: &str| {
        (0..group.num_columns())
            .map(|i| group.column(i))
            .find(|c| c.column_path().string() == name)
            .map(|c| c.dictionary_page_offset().is_some())
    };
    assert_eq!(has_dictionary("p_row_id"), Some(false));
    assert_eq!(has_dictionary("p_log_type"), Some(true));
}
