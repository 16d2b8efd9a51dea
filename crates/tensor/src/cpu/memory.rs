//! Memory hints to the operating system for large buffers.

/// Huge pages cover this many bytes (x86-64 and most aarch64 kernels).
const HUGE_PAGE: usize = 2 << 20;

/// Asks the kernel to back `buf` with transparent huge pages where it can. Call it on a fresh
/// buffer, before its pages are first written. A hint only: nothing changes if the kernel
/// declines or the platform has no such thing.
pub(crate) fn advise_huge_pages<T>(buf: &[T]) {
    #[cfg(target_os = "linux")]
    {
        let start = buf.as_ptr() as usize;
        // A slice lies inside one allocation, and no allocation wraps around the address space,
        // so its end address fits in usize.
        let end = start + std::mem::size_of_val(buf);
        // madvise wants an aligned range; the huge pages that fit inside the buffer are enough.
        // Rounding up could pass usize::MAX only for a buffer within 2 MiB of the top of the
        // address space, which then has no whole huge page: checked, it is skipped.
        let Some(first) = start.checked_next_multiple_of(HUGE_PAGE) else {
            return;
        };
        let last = end / HUGE_PAGE * HUGE_PAGE;
        if first < last {
            // SAFETY: start ≤ first < last ≤ end, computed without overflow, so [first, last)
            // lies inside `buf`'s allocation, which stays alive for the call; MADV_HUGEPAGE
            // changes only how the kernel backs those pages, never their contents, so no Rust
            // reference is invalidated. The result is ignored because the hint is optional.
            unsafe {
                libc::madvise(
                    first as *mut libc::c_void,
                    last - first,
                    libc::MADV_HUGEPAGE,
                );
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (buf, HUGE_PAGE);
}
