//! A session's training thread. It owns the [`Session`] (training never runs on the async
//! executor), takes [`Command`]s over a channel, trains while playing, and publishes a
//! [`Frame`] at most [`FRAMES_PER_SECOND`] times a second while playing (and after every
//! change), so that building snapshots costs a bounded share of the time however fast epochs
//! are. Each frame carries the session's loss history, from which each stream sends the epochs
//! since its previous event.
//!
//! A command is checked in full before it changes anything: a new config is validated (by
//! building the new `Session`) before it replaces the old one.

use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use tokio::sync::{oneshot, watch};

use super::wire::{points_json, Action, ApiError, ControlReply, Frame, Settings, SettingsPatch};
use crate::config::{Config, MAX_EPOCHS};
use crate::session::{PointSet, Session};

/// Snapshots a second while playing: the page draws at most this often.
pub const FRAMES_PER_SECOND: u32 = 30;

/// The reply to a change of settings or points: the settings, and the frame after the change.
pub type ChangeReply = Result<(Settings, Arc<Frame>), ApiError>;

/// What a session's thread is asked to do. Each carries the channel of its reply.
pub enum Command {
    /// A button.
    Control(Action, oneshot::Sender<ControlReply>),
    /// New settings: `lr`, `reg`, `reg_rate` live, any other change rebuilds.
    Settings(SettingsPatch, oneshot::Sender<ChangeReply>),
    /// One weight or bias.
    Weight {
        /// The layer (0 the first hidden one).
        layer: usize,
        /// The neuron in it.
        neuron: usize,
        /// The link's source, or `None` for the bias.
        input: Option<usize>,
        /// The new value.
        value: f64,
        /// Where the frame after the change goes.
        reply: oneshot::Sender<Result<Arc<Frame>, ApiError>>,
    },
    /// The user's points instead of a generated data set.
    Points(PointSet, oneshot::Sender<ChangeReply>),
    /// The network as a safetensors file.
    Save(oneshot::Sender<Result<Vec<u8>, ApiError>>),
}

/// The state a session's thread owns.
pub struct Worker {
    session: Session,
    points: Option<PointSet>,
    playing: bool,
    data_version: u64,
    points_json: Arc<str>,
    /// Counts the session's loss histories (a rebuild starts a new one); a stream that sees
    /// it change sends the new one whole.
    history_version: u64,
    frames: watch::Sender<Arc<Frame>>,
    /// When the next frame is due while playing: a fixed cadence, so that the time to build a
    /// frame does not lower the rate.
    next_frame: Instant,
}

impl Worker {
    /// A worker for `session`, publishing into a new watch channel, whose receiver is
    /// returned (holding the first frame).
    pub fn new(session: Session) -> (Worker, watch::Receiver<Arc<Frame>>) {
        let points_json: Arc<str> =
            points_json(session.train_points(), session.test_points()).into();
        let frame = Arc::new(Frame::of(&session, false, 0, points_json.clone(), 1));
        let (frames, receiver) = watch::channel(frame);
        let worker = Worker {
            session,
            points: None,
            playing: false,
            data_version: 0,
            points_json,
            history_version: 1,
            frames,
            next_frame: Instant::now(),
        };
        (worker, receiver)
    }

    /// Runs until every sender of `commands` is gone (the session was freed).
    pub fn run(mut self, commands: Receiver<Command>) {
        let frame_time = Duration::from_secs(1) / FRAMES_PER_SECOND;
        loop {
            if !self.playing {
                match commands.recv() {
                    Ok(command) => self.handle(command),
                    Err(_) => return,
                }
                continue;
            }
            // Playing: train until the next frame is due, answering commands between epochs.
            while self.playing && Instant::now() < self.next_frame {
                match commands.try_recv() {
                    Ok(command) => {
                        self.handle(command);
                        continue;
                    }
                    Err(TryRecvError::Disconnected) => return,
                    Err(TryRecvError::Empty) => {}
                }
                self.epoch();
            }
            if self.playing {
                self.publish();
                // Behind (a frame that took long to build): leave training a quarter frame.
                self.next_frame =
                    (self.next_frame + frame_time).max(Instant::now() + frame_time / 4);
            }
        }
    }

    /// Trains one epoch, stopping at the limit of a run.
    fn epoch(&mut self) {
        self.session.step();
        if self.session.epoch() >= MAX_EPOCHS {
            self.playing = false;
        }
    }

    /// Publishes the state now; returns the frame.
    fn publish(&mut self) -> Arc<Frame> {
        let frame = Arc::new(Frame::of(
            &self.session,
            self.playing,
            self.data_version,
            self.points_json.clone(),
            self.history_version,
        ));
        // No receiver is no error: the streams come and go.
        self.frames.send_replace(frame.clone());
        frame
    }

    /// Replaces the session by `session` (already built, so valid): a new history, and new
    /// points when `new_data`. Training pauses, as the Playground's does on a reset.
    fn replace(&mut self, session: Session, new_data: bool) {
        self.session = session;
        self.playing = false;
        self.history_version += 1;
        if new_data {
            self.data_version += 1;
            self.points_json =
                points_json(self.session.train_points(), self.session.test_points()).into();
        }
    }

    /// A new session on `config` and `points`, or the error naming the field at fault.
    fn build(config: Config, points: Option<PointSet>) -> Result<Session, ApiError> {
        Session::new(config, points).map_err(ApiError::config)
    }

    fn handle(&mut self, command: Command) {
        // A reply that finds no one waiting (the request was dropped) is no error.
        match command {
            Command::Control(action, reply) => {
                self.control(action);
                self.publish();
                let _ = reply.send(ControlReply {
                    epoch: self.session.epoch(),
                    playing: self.playing,
                });
            }
            Command::Settings(patch, reply) => {
                let _ = reply.send(self.settings(&patch));
            }
            Command::Weight {
                layer,
                neuron,
                input,
                value,
                reply,
            } => {
                let result = self
                    .session
                    .set_weight(layer, neuron, input, value)
                    .map_err(ApiError::config)
                    .map(|()| self.publish());
                let _ = reply.send(result);
            }
            Command::Points(points, reply) => {
                let result = Worker::build(self.session.config().clone(), Some(points.clone()))
                    .map(|session| {
                        self.replace(session, true);
                        self.points = Some(points);
                        let frame = self.publish();
                        (Settings::of(self.session.config()), frame)
                    });
                let _ = reply.send(result);
            }
            Command::Save(reply) => {
                let result = self
                    .session
                    .save_bytes()
                    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()));
                let _ = reply.send(result);
            }
        }
    }

    fn control(&mut self, action: Action) {
        match action {
            Action::Play => {
                if !self.playing {
                    self.next_frame = Instant::now() + Duration::from_secs(1) / FRAMES_PER_SECOND;
                }
                self.playing = self.session.epoch() < MAX_EPOCHS;
            }
            Action::Pause => self.playing = false,
            Action::Step => {
                self.playing = false;
                if self.session.epoch() < MAX_EPOCHS {
                    self.epoch();
                }
            }
            Action::Reset => {
                // The same config and data: valid, since the session was built from them.
                if let Ok(session) =
                    Worker::build(self.session.config().clone(), self.points.clone())
                {
                    self.replace(session, false);
                }
            }
            Action::Regenerate => {
                let mut config = self.session.config().clone();
                config.seed = config.seed.wrapping_add(1);
                if let Ok(session) = Worker::build(config, self.points.clone()) {
                    self.replace(session, true);
                }
            }
        }
    }

    /// Applies a settings patch: live when only `lr`, `reg` and `reg_rate` differ, else a
    /// rebuild; on an error, nothing changes.
    fn settings(&mut self, patch: &SettingsPatch) -> ChangeReply {
        let old = self.session.config().clone();
        let mut new = old.clone();
        patch.apply(&mut new);
        // The user's points give way to a generated data set when one is asked for.
        let points = if patch.dataset.is_some() {
            None
        } else {
            self.points.clone()
        };
        let live = Config {
            learning_rate: old.learning_rate,
            regularization: old.regularization,
            regularization_rate: old.regularization_rate,
            ..new.clone()
        } == old
            && points.is_some() == self.points.is_some();
        if live {
            new.validate(self.session.problem())
                .map_err(ApiError::config)?;
            // Validated together above, so neither call can fail half-way.
            self.session
                .set_learning_rate(new.learning_rate)
                .map_err(ApiError::config)?;
            self.session
                .set_regularization(new.regularization, new.regularization_rate)
                .map_err(ApiError::config)?;
        } else {
            let session = Worker::build(new.clone(), points.clone())?;
            let new_data = new.dataset != old.dataset
                || new.noise != old.noise
                || new.train_percent != old.train_percent
                || new.seed != old.seed
                || points.is_some() != self.points.is_some();
            self.replace(session, new_data);
            self.points = points;
        }
        let frame = self.publish();
        Ok((Settings::of(self.session.config()), frame))
    }
}
