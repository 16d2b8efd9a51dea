//! The live sessions: at most [`Options::max_sessions`] of them, each a training thread
//! ([`super::worker`]) reached through a [`Handle`]. A session is freed when it is deleted,
//! when its last event stream has been closed for [`Options::stream_grace`] (a closed tab),
//! or when it has had neither a stream nor a request for [`Options::idle_timeout`]. Freeing
//! drops the handle, whose command channel closing ends the thread.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use tokio::sync::{oneshot, watch};

use super::wire::{ApiError, Frame};
use super::worker::{Command, Worker};
use super::Options;
use crate::session::Session;

/// The way in to one session's thread.
pub struct Handle {
    commands: Mutex<mpsc::Sender<Command>>,
    /// The latest frame.
    pub frames: watch::Receiver<Arc<Frame>>,
    /// Open event streams.
    streams: AtomicUsize,
    /// When it was last asked for something, or its last stream closed.
    last_used: Mutex<Instant>,
}

impl Handle {
    /// Sends `command` (made with the reply channel given to `make`) and waits for the reply.
    pub async fn ask<R>(
        &self,
        make: impl FnOnce(oneshot::Sender<R>) -> Command,
    ) -> Result<R, ApiError> {
        self.touch();
        let (reply, answer) = oneshot::channel();
        let sent = self
            .commands
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .send(make(reply));
        let gone = || ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "the session has ended");
        sent.map_err(|_| gone())?;
        answer.await.map_err(|_| gone())
    }

    fn touch(&self) {
        *self
            .last_used
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Instant::now();
    }

    /// Counts a stream open until the returned guard drops.
    pub fn open_stream(self: &Arc<Self>) -> StreamGuard {
        self.streams.fetch_add(1, Ordering::SeqCst);
        self.touch();
        StreamGuard(self.clone())
    }
}

/// An open event stream of a session; dropping it (the client went away) starts the grace
/// period after which a session with no stream is freed.
pub struct StreamGuard(Arc<Handle>);

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.0.touch();
        self.0.streams.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Every live session, by id.
pub struct Sessions {
    options: Options,
    by_id: Mutex<HashMap<String, Arc<Handle>>>,
    /// Whether a session ever had a stream: the grace period applies to those only.
    streamed: Mutex<HashMap<String, bool>>,
    counter: AtomicU64,
    ids: std::collections::hash_map::RandomState,
}

impl Sessions {
    /// No sessions yet.
    pub fn new(options: Options) -> Sessions {
        Sessions {
            options,
            by_id: Mutex::new(HashMap::new()),
            streamed: Mutex::new(HashMap::new()),
            counter: AtomicU64::new(0),
            ids: std::collections::hash_map::RandomState::new(),
        }
    }

    /// The limits in force.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// The 503 of a server that runs all the sessions it takes.
    pub fn create_refusal(&self) -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "{} sessions run already, the most this server takes (--max-sessions); \
                 close a Playground tab or try again later",
                self.options.max_sessions
            ),
        )
    }

    /// Starts a session's thread on `session`; a 503 when `max_sessions` run already.
    pub fn create(&self, session: Session) -> Result<(String, Arc<Handle>), ApiError> {
        let mut by_id = self.by_id.lock().unwrap_or_else(PoisonError::into_inner);
        if by_id.len() >= self.options.max_sessions {
            return Err(self.create_refusal());
        }
        let (worker, frames) = Worker::new(session);
        let (commands, receiver) = mpsc::channel();
        let id = self.new_id();
        std::thread::Builder::new()
            .name(format!("session-{}", &id[..8]))
            .spawn(move || worker.run(receiver))
            .map_err(|e| {
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("no thread for a new session: {e}"),
                )
            })?;
        let handle = Arc::new(Handle {
            commands: Mutex::new(commands),
            frames,
            streams: AtomicUsize::new(0),
            last_used: Mutex::new(Instant::now()),
        });
        by_id.insert(id.clone(), handle.clone());
        Ok((id, handle))
    }

    /// The session `id`, or a 404.
    pub fn get(&self, id: &str) -> Result<Arc<Handle>, ApiError> {
        self.by_id
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .cloned()
            .ok_or_else(|| ApiError::no_session(id))
    }

    /// Notes that `id` has had a stream, so that closing it frees the session.
    pub fn mark_streamed(&self, id: &str) {
        self.streamed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id.to_string(), true);
    }

    /// Frees the session `id`; false if there was none.
    pub fn remove(&self, id: &str) -> bool {
        self.streamed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id);
        self.by_id
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id)
            .is_some()
    }

    /// How many sessions live.
    pub fn len(&self) -> usize {
        self.by_id
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether none does.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Frees the sessions whose streams closed more than the grace period ago, and those idle
    /// for longer than the idle timeout.
    pub fn reap(&self) {
        let now = Instant::now();
        let streamed = self
            .streamed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let doomed: Vec<String> = self
            .by_id
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|(id, h)| {
                if h.streams.load(Ordering::SeqCst) > 0 {
                    return false;
                }
                let quiet =
                    now.duration_since(*h.last_used.lock().unwrap_or_else(PoisonError::into_inner));
                let limit = if streamed.get(*id).copied().unwrap_or(false) {
                    self.options.stream_grace.min(self.options.idle_timeout)
                } else {
                    self.options.idle_timeout
                };
                quiet > limit
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in doomed {
            self.remove(&id);
        }
    }

    /// How often [`Sessions::reap`] should run: often enough to keep to the shorter limit.
    pub fn reap_every(&self) -> Duration {
        (self.options.stream_grace.min(self.options.idle_timeout) / 4)
            .clamp(Duration::from_millis(50), Duration::from_secs(1))
    }

    /// 128 bits no client can guess from another session's id: a counter hashed with two
    /// randomly keyed SipHashes (std's `RandomState`, keyed from the OS).
    fn new_id(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut parts = [0u64; 2];
        for (i, part) in parts.iter_mut().enumerate() {
            let mut h = self.ids.build_hasher();
            h.write_u64(n);
            h.write_usize(i);
            *part = h.finish();
        }
        format!("{:016x}{:016x}", parts[0], parts[1])
    }
}
