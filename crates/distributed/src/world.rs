//! The handle on MPI: initialising it once, this process's rank and the number of ranks, and the
//! few collective calls the rest of the crate is built from.
//!
//! Every other module goes through [`World`], so that MPI's API (rsmpi's traits, its buffer
//! types) shows in one place, and a rank that panics takes the whole job down with a message
//! naming it instead of leaving the others blocked in a collective call forever.

use std::sync::atomic::{AtomicBool, Ordering};

use mpi::collective::SystemOperation;
use mpi::datatype::Equivalence;
use mpi::environment::Universe;
use mpi::topology::SimpleCommunicator;
use mpi::traits::{Communicator, CommunicatorCollectives, Root};
use shendu_tensor::Element;

use crate::error::DistributedError;

/// An element type that both shendu's tensors and MPI know: `f32` and `f64`.
pub trait MpiElement: Element + Equivalence {}

impl<T: Element + Equivalence> MpiElement for T {}

/// Whether the panic hook that aborts the job is installed (it is process-wide, as MPI is).
static HOOK_INSTALLED: AtomicBool = AtomicBool::new(false);

/// This process's place among the ranks of one MPI job: the world communicator, its rank and its
/// size. MPI is finalised when the `World` is dropped, and cannot be initialised again in the
/// same process (MPI's rule), so make one `World` in `main` and lend it out.
pub struct World {
    // Dropped after `comm`: MPI_Finalize must come last.
    comm: SimpleCommunicator,
    rank: i32,
    size: i32,
    _universe: Universe,
}

/// Initialises MPI and returns this process's [`World`].
///
/// It also installs a panic hook (once per process, after the one already installed, which
/// still prints the panic's message): a rank that panics prints `rank R of N panicked` and
/// aborts the whole job through `MPI_Abort`, so that the other ranks, which would otherwise wait
/// forever in their next collective call, end at once and `mpirun` exits non-zero naming rank R.
///
/// Run alone (without `mpirun`) it is a world of one rank, and everything in this crate works,
/// doing no communication worth the name.
///
/// # Errors
/// If MPI was already initialised in this process, or the MPI library fails to start.
pub fn init() -> Result<World, DistributedError> {
    let universe = mpi::initialize().ok_or_else(|| {
        DistributedError::Init("it was already initialised in this process".into())
    })?;
    let comm = universe.world();
    let (rank, size) = (comm.rank(), comm.size());
    if !HOOK_INSTALLED.swap(true, Ordering::SeqCst) {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            previous(info);
            eprintln!("shendu-distributed: rank {rank} of {size} panicked; aborting the job");
            // MPI_Abort ends every rank of the job: the others are in (or will reach) a
            // collective call that this rank will never join, and would wait for it forever.
            // MPI_Abort is only valid between init and finalize; the hook stays installed
            // after `World` is dropped, hence the flag.
            if MPI_LIVE.load(Ordering::SeqCst) {
                SimpleCommunicator::world().abort(101);
            }
        }));
    }
    MPI_LIVE.store(true, Ordering::SeqCst);
    Ok(World {
        comm,
        rank,
        size,
        _universe: universe,
    })
}

/// Whether MPI is initialised and not yet finalised: the panic hook may only abort then.
static MPI_LIVE: AtomicBool = AtomicBool::new(false);

impl Drop for World {
    fn drop(&mut self) {
        // Before the universe finalises MPI: a later panic must not call MPI_Abort.
        MPI_LIVE.store(false, Ordering::SeqCst);
    }
}

impl World {
    /// This process's rank, `0..size`.
    pub fn rank(&self) -> usize {
        self.rank as usize
    }

    /// The number of ranks in the job.
    pub fn size(&self) -> usize {
        self.size as usize
    }

    /// Whether this is rank 0, the one that prints, writes checkpoints and whose parameters the
    /// others start from.
    pub fn is_root(&self) -> bool {
        self.rank == 0
    }

    /// The name of the machine this rank runs on (MPI's processor name), for log lines.
    pub fn host(&self) -> String {
        mpi::environment::processor_name().unwrap_or_else(|_| "?".into())
    }

    /// Waits until every rank has called it.
    pub fn barrier(&self) {
        self.comm.barrier();
    }

    /// Ends every rank of the job at once, after printing `message` with this rank's number: for
    /// an error on one rank that the others cannot learn of in a collective call.
    pub fn abort(&self, message: &str) -> ! {
        eprintln!(
            "shendu-distributed: rank {} of {}: {message}",
            self.rank, self.size
        );
        self.comm.abort(1)
    }

    /// Replaces `buffer` on every rank with rank 0's.
    pub fn broadcast<T: Equivalence>(&self, buffer: &mut [T]) {
        self.comm.process_at_rank(0).broadcast_into(buffer);
    }

    /// The element-wise sum of `send` over all ranks, written to `receive` on every rank (the
    /// same bits on every rank: MPI's built-in sum is commutative, and Open MPI's algorithms
    /// compute each element's sum once, or in the same pairs on both sides of an exchange).
    ///
    /// # Errors
    /// If the two buffers differ in length.
    pub fn all_reduce_sum<T: Equivalence>(
        &self,
        send: &[T],
        receive: &mut [T],
    ) -> Result<(), DistributedError> {
        if send.len() != receive.len() {
            return Err(DistributedError::Invalid(format!(
                "all_reduce_sum: a send buffer of {} elements and a receive buffer of {}",
                send.len(),
                receive.len()
            )));
        }
        self.comm
            .all_reduce_into(send, receive, SystemOperation::sum());
        Ok(())
    }

    /// Every rank's `send` (all of one length), concatenated in rank order, on every rank.
    pub fn all_gather<T: Equivalence + Default + Clone>(&self, send: &[T]) -> Vec<T> {
        let mut all = vec![T::default(); send.len() * self.size()];
        self.comm.all_gather_into(send, &mut all[..]);
        all
    }
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World")
            .field("rank", &self.rank)
            .field("size", &self.size)
            .finish()
    }
}
