//! Pinning threads to cores.

/// Pins the calling thread to `core`; a failure is a warning.
pub fn pin_to(core: Option<usize>) {
    if let Some(id) = core {
        if !core_affinity::set_for_current(core_affinity::CoreId { id }) {
            eprintln!("wirelog: warning: could not pin a thread to core {id}");
        }
    }
}
