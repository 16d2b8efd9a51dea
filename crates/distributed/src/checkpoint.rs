//! Checkpoints in a distributed run: rank 0 alone writes, with nn's atomic write (a temporary
//! file renamed over the old one), so that a reader, or a run killed mid-write, finds the old
//! file or the new one, never a mix; then every rank learns whether it worked.

use std::path::Path;

use shendu_nn::{Checkpoint, Module, StateDict};

use crate::error::DistributedError;
use crate::world::{MpiElement, World};

/// Writes `model`'s state to `path` from rank 0 (all replicas are equal, so one copy is the
/// model), then tells every rank the outcome: all return `Ok`, or all return the error. Every
/// rank must call it (it is a collective call).
///
/// # Errors
/// [`DistributedError::Checkpoint`] on every rank if rank 0 could not write the file.
pub fn save_checkpoint<T: MpiElement, M: Module<T> + ?Sized>(
    world: &World,
    model: &M,
    path: impl AsRef<Path>,
) -> Result<(), DistributedError> {
    let state: Option<StateDict<T>> = world.is_root().then(|| model.state_dict());
    save_state(world, state.as_ref(), path)
}

/// Writes a state (a model's, an optimizer's) made on rank 0 to `path` from rank 0, then tells
/// every rank the outcome. Other ranks pass `None` (they need not build the state). Every rank
/// must call it.
///
/// # Errors
/// [`DistributedError::Checkpoint`] on every rank if rank 0 could not write the file, or passed
/// no state.
pub fn save_state<T: MpiElement>(
    world: &World,
    state: Option<&StateDict<T>>,
    path: impl AsRef<Path>,
) -> Result<(), DistributedError> {
    // Rank 0's outcome, sent as a status byte and, on failure, its message.
    let mut outcome: Result<(), (String, Option<shendu_nn::CheckpointError>)> = Ok(());
    if world.is_root() {
        outcome = match state {
            Some(state) => state
                .write(path.as_ref())
                .map_err(|e| (e.to_string(), Some(e))),
            None => Err((
                "save_state was called on rank 0 without a state".into(),
                None,
            )),
        };
    }
    let message = match &outcome {
        Ok(()) => Vec::new(),
        Err((m, _)) => m.as_bytes().to_vec(),
    };
    let mut header = [u64::from(outcome.is_err()), message.len() as u64];
    world.broadcast(&mut header);
    if header[0] == 0 {
        return Ok(());
    }
    let mut bytes = message;
    bytes.resize(header[1] as usize, 0);
    world.broadcast(&mut bytes);
    let message = String::from_utf8_lossy(&bytes).into_owned();
    let source = outcome.err().and_then(|(_, e)| e).map(Box::new);
    Err(DistributedError::Checkpoint { message, source })
}
