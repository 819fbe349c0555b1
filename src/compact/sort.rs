//! The external sort: a partition's rows in runs sorted by (`p_event_time`, `p_row_id`),
//! merged with duplicates dropped.

use super::*;

/// The sort key of a row: `p_event_time` (ms; a null first), `p_row_id` as a number (its 32
/// hex digits, so numeric order is the text's order).
pub(super) type Key = (i64, u128);

/// Where the sort key is in a table's batches.
pub(super) struct KeyColumns {
    pub(super) time: usize,
    pub(super) id: usize,
}

impl KeyColumns {
    pub(super) fn of(schema: &SchemaRef) -> Result<KeyColumns, Error> {
        let find = |name: &str| {
            schema.index_of(name).map_err(|e| Error::Arrow {
                table: "compact",
                source: e,
            })
        };
        Ok(KeyColumns {
            time: find("p_event_time")?,
            id: find("p_row_id")?,
        })
    }

    /// The key of every row of `batch`.
    pub(super) fn keys(&self, batch: &RecordBatch) -> Result<Vec<Key>, Error> {
        let times = batch
            .column(self.time)
            .as_primitive_opt::<TimestampMillisecondType>();
        let ids = batch.column(self.id).as_string_opt::<i32>();
        let (Some(times), Some(ids)) = (times, ids) else {
            return Err(Error::Worker(
                "p_event_time or p_row_id has an unexpected type".into(),
            ));
        };
        (0..batch.num_rows())
            .map(|i| {
                let time = if times.is_null(i) {
                    i64::MIN
                } else {
                    times.value(i)
                };
                let id = (!ids.is_null(i))
                    .then(|| ids.value(i))
                    .filter(|s| s.len() == 32)
                    .and_then(|s| u128::from_str_radix(s, 16).ok());
                match id {
                    Some(id) => Ok((time, id)),
                    None => Err(Error::Input {
                        input: "p_row_id".into(),
                        reason: format!(
                            "{:?} is not a jwas row id (32 hex digits); the partition is left as it is",
                            crate::source::Escaped(if ids.is_null(i) { "null" } else { ids.value(i) })
                        ),
                    }),
                }
            })
            .collect()
    }
}

/// Rows held in memory and their order by key, duplicates removed.
pub(super) struct SortedRun {
    pub(super) batches: Vec<RecordBatch>,
    pub(super) order: Vec<(usize, usize)>,
}

impl SortedRun {
    pub(super) fn new(batches: Vec<RecordBatch>, keys: &KeyColumns) -> Result<SortedRun, Error> {
        let mut all: Vec<(Key, u32, u32)> = Vec::new();
        for (b, batch) in batches.iter().enumerate() {
            for (r, k) in keys.keys(batch)?.into_iter().enumerate() {
                all.push((k, b as u32, r as u32));
            }
        }
        all.sort_unstable();
        all.dedup_by_key(|(k, _, _)| *k);
        let order = all
            .into_iter()
            .map(|(_, b, r)| (b as usize, r as usize))
            .collect();
        Ok(SortedRun { batches, order })
    }

    pub(super) fn len(&self) -> usize {
        self.order.len()
    }

    pub(super) fn chunks(
        &self,
    ) -> impl Iterator<Item = Result<RecordBatch, arrow_schema::ArrowError>> + '_ {
        self.chunks_of(CHUNK_ROWS)
    }

    pub(super) fn chunks_of(
        &self,
        rows: usize,
    ) -> impl Iterator<Item = Result<RecordBatch, arrow_schema::ArrowError>> + '_ {
        let refs: Vec<&RecordBatch> = self.batches.iter().collect();
        self.order
            .chunks(rows)
            .map(move |c| arrow_select::interleave::interleave_record_batch(&refs, c))
    }
}

/// A sorted run being merged: its current batch and position.
pub(super) struct Cursor {
    pub(super) reader: ParquetRecordBatchReader,
    pub(super) keys: Vec<Key>,
    pub(super) pos: usize,
    /// Index of its current batch in the merge's held batches.
    pub(super) held: usize,
}

/// Merges sorted runs into `out`, dropping rows whose key equals the last row written.
pub(super) fn merge_runs(
    readers: Vec<ParquetRecordBatchReader>,
    schema: &SchemaRef,
    keys: &KeyColumns,
    out: &mut MergedFiles<'_>,
) -> Result<(), Error> {
    let arrow_err = |source| Error::Arrow {
        table: "compact",
        source,
    };
    let mut held: Vec<RecordBatch> = Vec::new();
    let mut cursors: Vec<Cursor> = Vec::new();
    let mut heap = BinaryHeap::new();
    let next_batch = |reader: &mut ParquetRecordBatchReader| -> Result<Option<RecordBatch>, Error> {
        match reader.next() {
            None => Ok(None),
            Some(b) => {
                let b = b
                    .and_then(|b| RecordBatch::try_new(Arc::clone(schema), b.columns().to_vec()))
                    .map_err(arrow_err)?;
                Ok(Some(b))
            }
        }
    };
    for mut reader in readers {
        while let Some(batch) = next_batch(&mut reader)? {
            if batch.num_rows() == 0 {
                continue;
            }
            let ks = keys.keys(&batch)?;
            heap.push(std::cmp::Reverse((ks[0], cursors.len())));
            held.push(batch);
            cursors.push(Cursor {
                reader,
                keys: ks,
                pos: 0,
                held: held.len() - 1,
            });
            break;
        }
    }
    let mut pending: Vec<(usize, usize)> = Vec::with_capacity(CHUNK_ROWS);
    let mut last: Option<Key> = None;
    let flush = |held: &mut Vec<RecordBatch>,
                 cursors: &mut [Cursor],
                 pending: &mut Vec<(usize, usize)>,
                 out: &mut MergedFiles<'_>|
     -> Result<(), Error> {
        if !pending.is_empty() {
            let refs: Vec<&RecordBatch> = held.iter().collect();
            let chunk = arrow_select::interleave::interleave_record_batch(&refs, pending)
                .map_err(arrow_err)?;
            out.write(chunk)?;
            pending.clear();
        }
        // Keep only the batches the cursors are in.
        let mut kept = Vec::with_capacity(cursors.len());
        for c in cursors.iter_mut() {
            if c.pos < c.keys.len() {
                kept.push(held[c.held].clone());
                c.held = kept.len() - 1;
            }
        }
        *held = kept;
        Ok(())
    };
    while let Some(std::cmp::Reverse((key, i))) = heap.pop() {
        let c = &mut cursors[i];
        if last != Some(key) {
            pending.push((c.held, c.pos));
            last = Some(key);
        }
        c.pos += 1;
        if c.pos == c.keys.len() {
            // The batch is done: its rows may still be pending, so it stays held.
            loop {
                match next_batch(&mut c.reader)? {
                    Some(b) if b.num_rows() == 0 => continue,
                    Some(b) => {
                        c.keys = keys.keys(&b)?;
                        c.pos = 0;
                        held.push(b);
                        c.held = held.len() - 1;
                    }
                    None => {}
                }
                break;
            }
        }
        if c.pos < c.keys.len() {
            heap.push(std::cmp::Reverse((c.keys[c.pos], i)));
        }
        if pending.len() >= CHUNK_ROWS {
            flush(&mut held, &mut cursors, &mut pending, out)?;
        }
    }
    flush(&mut held, &mut cursors, &mut pending, out)
}
