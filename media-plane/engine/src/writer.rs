//! The recording file writer: a task on the core's throughput-class glommio task queue, fed
//! by the packet task over a bounded local channel. It owns every open recording file and
//! does its I/O through glommio's io_uring buffered files, so no system call on a file
//! blocks the core; the packet task never touches the file system.
//!
//! A file starts with a WAV header whose data size is `0xFFFFFFFF` ("to the end"), so after
//! a crash the reader takes everything written so far; each chunk (about a second of audio)
//! is written and synced (`fdatasync`) as it arrives, so a crash of the process or of the
//! machine loses at most that second, and closing patches the real sizes in.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::path::PathBuf;
use std::rc::Rc;

use glommio::channels::local_channel::{self, LocalReceiver, LocalSender};
use glommio::io::{BufferedFile, OpenOptions};
use warden_dsp::wav::{header_for, size_fields, HEADER_LEN};
use warden_dsp::WavFormat;
use warden_shared::{recording_file_name, EndpointHandle};

/// Messages in flight to the writer at most (about 64 s of audio over all recordings).
const QUEUE: usize = 64;

/// Work for the writer task.
pub(crate) enum WriteJob {
    /// Create the file of recording `id`.
    Open { id: u64, format: WavFormat },
    /// Append little-endian PCM bytes.
    Data { id: u64, bytes: Vec<u8> },
    /// Patch the header sizes and close; report on behalf of `endpoint`.
    Close { id: u64, endpoint: EndpointHandle },
}

/// A recording the writer closed (or failed), for the core to report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Closed {
    pub(crate) endpoint: EndpointHandle,
    pub(crate) id: u64,
    pub(crate) data_bytes: u64,
    pub(crate) failed: bool,
}

/// The packet task's end: queue jobs without waiting, collect closed recordings.
pub(crate) struct WriterHandle {
    tx: LocalSender<WriteJob>,
    closed: Rc<RefCell<Vec<Closed>>>,
    /// Jobs queued or being carried out.
    pending: Rc<Cell<usize>>,
}

impl WriterHandle {
    /// Queues a job; gives it back when the queue is full.
    pub(crate) fn try_send(&self, job: WriteJob) -> Result<(), WriteJob> {
        self.tx.try_send(job)?;
        self.pending.set(self.pending.get() + 1);
        Ok(())
    }
}

impl From<glommio::GlommioError<WriteJob>> for WriteJob {
    fn from(e: glommio::GlommioError<WriteJob>) -> WriteJob {
        match e {
            glommio::GlommioError::Closed(glommio::ResourceType::Channel(j))
            | glommio::GlommioError::WouldBlock(glommio::ResourceType::Channel(j)) => j,
            // Other variants never carry the item back; the job is lost (counted by caller).
            _ => WriteJob::Data {
                id: 0,
                bytes: Vec::new(),
            },
        }
    }
}

impl WriterHandle {
    /// Room left in the queue.
    pub(crate) fn room(&self) -> usize {
        QUEUE.saturating_sub(self.tx.len())
    }

    /// Whether the writer has work queued or in flight (the packet task then yields to it).
    pub(crate) fn busy(&self) -> bool {
        self.pending.get() > 0
    }

    /// Recordings closed since the last call.
    pub(crate) fn take_closed(&self) -> Vec<Closed> {
        std::mem::take(&mut *self.closed.borrow_mut())
    }
}

struct Open {
    file: BufferedFile,
    data_len: u64,
    failed: bool,
}

/// Spawns the writer on a new `Latency::NotImportant` task queue of the current executor.
pub(crate) fn spawn(dir: PathBuf, core: usize) -> Result<WriterHandle, String> {
    let (tx, rx) = local_channel::new_bounded(QUEUE);
    let closed = Rc::new(RefCell::new(Vec::new()));
    let pending = Rc::new(Cell::new(0));
    // Once, as the core starts (not on the packet path): where the files go.
    if let Err(error) = std::fs::create_dir_all(&dir) {
        tracing::warn!(core, dir = %dir.display(), %error, "recording directory not created");
    }
    let tq = glommio::executor().create_task_queue(
        glommio::Shares::default(),
        glommio::Latency::NotImportant,
        "recording-writer",
    );
    glommio::executor()
        .spawn_local_into(run(rx, dir, core, closed.clone(), pending.clone()), tq)
        .map_err(|e| e.to_string())?
        .detach();
    Ok(WriterHandle {
        tx,
        closed,
        pending,
    })
}

/// Creates the file (never over an existing one) and writes its open-ended header.
async fn create(path: &std::path::Path, format: WavFormat) -> glommio::Result<BufferedFile, ()> {
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .buffered_open(path)
        .await?;
    file.write_at(header_for(format, u32::MAX).to_vec(), 0)
        .await?;
    Ok(file)
}

/// Patches the header's size fields for `data_len` bytes of audio, then closes the file.
async fn finish(file: BufferedFile, data_len: u64) -> glommio::Result<(), ()> {
    let len = u32::try_from(data_len).unwrap_or(u32::MAX - 36);
    for (at, bytes) in size_fields(len) {
        file.write_at(bytes.to_vec(), at).await?;
    }
    file.fdatasync().await?;
    file.close().await
}

async fn run(
    rx: LocalReceiver<WriteJob>,
    dir: PathBuf,
    core: usize,
    closed: Rc<RefCell<Vec<Closed>>>,
    pending: Rc<Cell<usize>>,
) {
    let mut files: HashMap<u64, Open> = HashMap::new();
    while let Some(job) = rx.recv().await {
        match job {
            WriteJob::Open { id, format } => {
                let path = dir.join(recording_file_name(id));
                match create(&path, format).await {
                    Ok(file) => {
                        files.insert(
                            id,
                            Open {
                                file,
                                data_len: 0,
                                failed: false,
                            },
                        );
                    }
                    Err(error) => {
                        tracing::warn!(core, recording = id, path = %path.display(), %error, "recording file not created");
                    }
                }
            }
            WriteJob::Data { id, bytes } => {
                if let Some(o) = files.get_mut(&id) {
                    if !o.failed {
                        let len = bytes.len() as u64;
                        let pos = HEADER_LEN as u64 + o.data_len;
                        let written = match o.file.write_at(bytes, pos).await {
                            Ok(n) if n as u64 == len => {
                                o.file.fdatasync().await.map_err(|e| e.to_string())
                            }
                            Ok(n) => Err(format!("short write: {n} of {len} bytes")),
                            Err(e) => Err(e.to_string()),
                        };
                        match written {
                            Ok(()) => o.data_len += len,
                            Err(error) => {
                                o.failed = true;
                                tracing::warn!(core, recording = id, %error, "recording write failed");
                            }
                        }
                    }
                }
            }
            WriteJob::Close { id, endpoint } => {
                let (data_bytes, failed) = match files.remove(&id) {
                    Some(o) => {
                        let patched = finish(o.file, o.data_len).await;
                        if let Err(error) = &patched {
                            tracing::warn!(core, recording = id, %error, "recording header not patched");
                        }
                        (o.data_len, o.failed || patched.is_err())
                    }
                    None => (0, true),
                };
                tracing::info!(core, recording = id, data_bytes, failed, "recording closed");
                closed.borrow_mut().push(Closed {
                    endpoint,
                    id,
                    data_bytes,
                    failed,
                });
            }
        }
        pending.set(pending.get().saturating_sub(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glommio::LocalExecutorBuilder;
    use warden_dsp::Wav;

    fn ep() -> EndpointHandle {
        EndpointHandle {
            slot: 1,
            generation: 1,
        }
    }

    #[test]
    fn an_unclosed_file_reads_up_to_the_last_chunk_and_closing_patches_sizes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_path_buf();
        let ex = LocalExecutorBuilder::default()
            .io_memory(128 * 1024)
            .make()
            .unwrap();
        ex.run(async move {
            let w = spawn(path.clone(), 0).unwrap();
            let chunk: Vec<u8> = (0..3200u16)
                .flat_map(|i| (i as i16).to_le_bytes())
                .collect();
            w.try_send(WriteJob::Open {
                id: 5,
                format: WavFormat::stereo(8000),
            })
            .ok()
            .unwrap();
            w.try_send(WriteJob::Data {
                id: 5,
                bytes: chunk.clone(),
            })
            .ok()
            .unwrap();
            while w.busy() {
                glommio::executor().yield_task_queue_now().await;
            }
            // As a crash would leave it: sizes never patched.
            let bytes = std::fs::read(path.join(recording_file_name(5))).unwrap();
            let wav = Wav::parse(&bytes).unwrap();
            assert_eq!(wav.frames(), 1600);
            assert_eq!(wav.samples().take(3).collect::<Vec<_>>(), vec![0, 1, 2]);

            w.try_send(WriteJob::Close {
                id: 5,
                endpoint: ep(),
            })
            .ok()
            .unwrap();
            while w.busy() {
                glommio::executor().yield_task_queue_now().await;
            }
            let closed = w.take_closed();
            assert_eq!(
                closed,
                vec![Closed {
                    endpoint: ep(),
                    id: 5,
                    data_bytes: 6400,
                    failed: false
                }]
            );
            let bytes = std::fs::read(path.join(recording_file_name(5))).unwrap();
            assert_eq!(&bytes[40..44], &6400u32.to_le_bytes());
            assert_eq!(&bytes[4..8], &6436u32.to_le_bytes());

            // An id whose file exists already is not overwritten: the close reports failure.
            w.try_send(WriteJob::Open {
                id: 5,
                format: WavFormat::mono(8000),
            })
            .ok()
            .unwrap();
            w.try_send(WriteJob::Close {
                id: 5,
                endpoint: ep(),
            })
            .ok()
            .unwrap();
            while w.busy() {
                glommio::executor().yield_task_queue_now().await;
            }
            assert!(w.take_closed()[0].failed);
            assert_eq!(
                std::fs::read(path.join(recording_file_name(5)))
                    .unwrap()
                    .len(),
                44 + 6400
            );
        });
    }
}
