//! The merged rows of a partition written as Parquet files of bounded rows and row groups.

use super::*;

/// Writes the merged rows of a partition into files of at most `max_file_rows` rows, in
/// row groups of at most [`DEFAULT_ROW_GROUP_ROWS`] rows and about
/// [`DEFAULT_ROW_GROUP_BYTES`].
pub(super) struct MergedFiles<'s> {
    pub(super) store: &'s dyn Store,
    pub(super) stem: String,
    pub(super) log_type: LogType,
    pub(super) compression: Compression,
    pub(super) max_file_rows: usize,
    pub(super) open: Option<(ParquetOutput<Box<dyn crate::sink::ObjectWriter>>, String)>,
    pub(super) group: Vec<RecordBatch>,
    pub(super) group_rows: usize,
    pub(super) group_bytes: usize,
    pub(super) state: EncoderState,
    pub(super) buf: Vec<u8>,
    pub(super) merged: Vec<String>,
    pub(super) rows: u64,
}

impl<'s> MergedFiles<'s> {
    pub(super) fn new(
        store: &'s dyn Store,
        stem: String,
        log_type: LogType,
        opts: &CompactOptions,
    ) -> MergedFiles<'s> {
        MergedFiles {
            store,
            stem,
            log_type,
            compression: opts.compression,
            max_file_rows: opts.max_file_rows.max(1),
            open: None,
            group: Vec::new(),
            group_rows: 0,
            group_bytes: 0,
            state: EncoderState::default(),
            buf: Vec::new(),
            merged: Vec::new(),
            rows: 0,
        }
    }

    pub(super) fn write(&mut self, mut batch: RecordBatch) -> Result<(), Error> {
        while batch.num_rows() > 0 {
            if self.open.is_none() {
                let key = format!("{}-{:04}.parquet", self.stem, self.merged.len());
                let w = self.store.create(&key)?;
                let file = ParquetOutput::new(self.log_type, self.compression, w, &mut self.buf);
                self.open = Some((file, key));
            }
            // Rows of the open file, written or waiting in the row group.
            let in_file =
                self.open.as_ref().map_or(0, |(f, _)| f.rows() as usize) + self.group_rows;
            let take = batch
                .num_rows()
                .min(self.max_file_rows - in_file)
                .min(DEFAULT_ROW_GROUP_ROWS - self.group_rows);
            let head = batch.slice(0, take);
            batch = batch.slice(take, batch.num_rows() - take);
            self.group_bytes += head.get_array_memory_size();
            self.group_rows += take;
            self.rows += take as u64;
            self.group.push(head);
            if self.group_rows == DEFAULT_ROW_GROUP_ROWS
                || self.group_bytes >= DEFAULT_ROW_GROUP_BYTES
            {
                self.flush_group()?;
            }
            if in_file + take == self.max_file_rows {
                self.close()?;
            }
        }
        Ok(())
    }

    pub(super) fn flush_group(&mut self) -> Result<(), Error> {
        let Some((file, key)) = self.open.as_mut() else {
            return Ok(());
        };
        file.row_group(&self.group, &mut self.state, &mut self.buf)
            .map_err(|source| Error::Write {
                path: PathBuf::from(self.store.location(key)),
                source,
            })?;
        self.group.clear();
        self.group_rows = 0;
        self.group_bytes = 0;
        Ok(())
    }

    pub(super) fn close(&mut self) -> Result<(), Error> {
        self.flush_group()?;
        let Some((file, key)) = self.open.take() else {
            return Ok(());
        };
        file.finish(&mut self.buf)
            .map_err(|source| Error::Write {
                path: PathBuf::from(self.store.location(&key)),
                source,
            })?
            .commit()?;
        self.merged.push(file_name(&key).to_owned());
        Ok(())
    }

    /// Closes the last file.
    pub(super) fn finish(&mut self) -> Result<(), Error> {
        self.close()
    }
}
