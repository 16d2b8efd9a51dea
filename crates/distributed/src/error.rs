//! What can go wrong in distributed training, as one error type with messages that name the rank.

use std::fmt;

use shendu_nn::CheckpointError;

/// An error of distributed training. Each message names the rank (or ranks) concerned, since a
/// line from one of many processes is useless without it.
#[derive(Debug)]
#[non_exhaustive]
pub enum DistributedError {
    /// MPI could not be initialised: it already was (by this process, once per run), or the
    /// library refused.
    Init(String),
    /// The ranks were started with configurations that cannot train together (different
    /// parameter names or shapes, a different element type, a different seed); found at
    /// start-up, before any step.
    Mismatch {
        /// The first rank that differs from rank 0.
        rank: i32,
        /// What differs, in words.
        what: String,
    },
    /// The ranks gave gradients for different sets of parameters in one step: a parameter
    /// unused by the loss on one rank but used on another would be updated on some replicas
    /// only, and the replicas would drift apart.
    UnevenGradients {
        /// The parameter's name.
        name: String,
        /// How many ranks had a gradient for it.
        ranks_with: usize,
        /// How many ranks took part.
        size: usize,
    },
    /// Some rank was given a shard with no rows: its mean loss, and so its gradient, is
    /// undefined (returned on every rank, so that all stop).
    EmptyShard {
        /// How many ranks had an empty shard.
        ranks: usize,
        /// Whether this rank was one of them.
        this_rank: bool,
    },
    /// A bad argument (a batch size of zero, a rank outside the world), named with its value.
    Invalid(String),
    /// Writing a checkpoint failed on rank 0 (every rank returns this, so that none goes on
    /// thinking it was saved).
    Checkpoint {
        /// Rank 0's error, in words (other ranks only get the message).
        message: String,
        /// Rank 0's error itself, on rank 0 (boxed: it is large, and errors travel in every
        /// `Result` of this crate).
        source: Option<Box<CheckpointError>>,
    },
}

impl fmt::Display for DistributedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DistributedError::Init(why) => write!(f, "MPI could not be initialised: {why}"),
            DistributedError::Mismatch { rank, what } => {
                write!(f, "rank {rank} does not match rank 0: {what}")
            }
            DistributedError::UnevenGradients {
                name,
                ranks_with,
                size,
            } => write!(
                f,
                "the parameter {name} has a gradient on {ranks_with} of {size} ranks: every rank's \
                 loss must use the same parameters, or the replicas drift apart"
            ),
            DistributedError::EmptyShard { ranks, this_rank } => write!(
                f,
                "{ranks} rank(s){} were given a shard of no rows (a global batch smaller than \
                 the number of ranks); DistributedSampler never gives one",
                if *this_rank {
                    ", this one among them,"
                } else {
                    ""
                }
            ),
            DistributedError::Invalid(what) => f.write_str(what),
            DistributedError::Checkpoint { message, .. } => {
                write!(f, "rank 0 could not write the checkpoint: {message}")
            }
        }
    }
}

impl std::error::Error for DistributedError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DistributedError::Checkpoint {
                source: Some(e), ..
            } => Some(e.as_ref()),
            _ => None,
        }
    }
}
