import CLibUV

/// The common part of every libuv handle wrapper: owning the handle memory and closing it once.
///
/// Lifecycle:
/// - The wrapper allocates the handle on the heap and, once libuv has initialised it, retains
///   itself (`Unmanaged.passRetained`) and stores that pointer in `handle->data`. Callbacks find
///   the wrapper through `data`, so they never reach a deallocated object.
/// - ``close(_:)`` calls `uv_close` exactly once; later calls do nothing. The handle memory is freed
///   and the self-retain released in libuv's close callback, which runs on a later loop iteration.
///   So a handle that is never closed leaks (with its loop): close every handle you create.
/// - Stored callbacks are dropped when the close callback runs, which breaks the usual
///   handle → closure → handle cycle.
///
/// All methods must be called on the loop thread (except ``UVAsync/send()``).
public class UVHandle {
    enum State {
        /// Memory allocated; libuv has not initialised it (freed in deinit).
        case uninitialized
        case open
        /// `uv_close` called; waiting for the close callback.
        case closing
        /// Close callback ran (or initialisation failed); memory freed.
        case closed
    }

    /// The loop this handle belongs to.
    public let loop: UVLoop
    /// The handle memory, `uv_handle_size(type)` bytes, typed by the subclass.
    let memory: UnsafeMutableRawPointer
    private(set) var state: State = .uninitialized
    private var closeCallbacks: [() -> Void] = []

    init(loop: UVLoop, type: uv_handle_type) {
        precondition(!loop.isClosed, "creating a handle on a closed UVLoop")
        self.loop = loop
        memory = .allocate(byteCount: uv_handle_size(type), alignment: 16)
    }

    deinit {
        switch state {
        case .uninitialized:
            memory.deallocate()
        case .closed:
            break
        case .open, .closing:
            // Unreachable: an open handle is retained by its own `data` pointer.
            assertionFailure("UVHandle deinitialised while libuv still owns it")
        }
    }

    var handle: UnsafeMutablePointer<uv_handle_t> {
        UnsafeMutablePointer<uv_handle_t>(OpaquePointer(memory))
    }

    func typed<T>(_: T.Type) -> UnsafeMutablePointer<T> {
        memory.assumingMemoryBound(to: T.self)
    }

    /// Runs libuv's init function for this handle. On failure the memory is freed and the handle
    /// counts as closed (libuv never saw it); on success the handle is registered and retained.
    func initialize(_ operation: String, _ body: () -> Int32) throws {
        precondition(state == .uninitialized)
        let rc = body()
        if rc < 0 {
            memory.deallocate()
            state = .closed
            throw UVError(code: rc, operation: operation)
        }
        markInitialized()
    }

    /// Records that libuv initialised the handle (even if the call that did so then failed), so it must
    /// now be closed with `uv_close`.
    func markInitialized() {
        precondition(state == .uninitialized)
        uv_handle_set_data(handle, Unmanaged.passRetained(self).toOpaque())
        state = .open
        loop.handlesOpened += 1
    }

    /// Whether ``close(_:)`` has been called (the handle may still be waiting for its close callback).
    public var isClosing: Bool { state == .closing || state == .closed }

    /// Whether the handle is fully closed: its close callback ran and its memory is freed.
    public var isClosed: Bool { state == .closed }

    /// Whether the handle is active (`uv_is_active`): a started timer, a reading stream, a running process...
    public var isActive: Bool { state == .open && uv_is_active(handle) != 0 }

    /// Whether the handle keeps the loop alive while active (`uv_has_ref`).
    public var hasRef: Bool { state == .open && uv_has_ref(handle) != 0 }

    /// Lets the loop keep running while this handle is active (the default).
    public func ref() {
        if state == .open { uv_ref(handle) }
    }

    /// Lets the loop exit even while this handle is active.
    public func unref() {
        if state == .open { uv_unref(handle) }
    }

    /// Closes the handle (`uv_close`). Idempotent: only the first call reaches libuv.
    ///
    /// `onClose` runs on the loop thread after libuv's close callback, once the memory is freed.
    /// Pending writes on a stream complete with `ECANCELED` before that.
    public func close(_ onClose: (() -> Void)? = nil) {
        switch state {
        case .uninitialized:
            state = .closed
            memory.deallocate()
            onClose?()
        case .open:
            if let onClose { closeCallbacks.append(onClose) }
            state = .closing
            willClose()
            uv_close(handle, uvHandleDidClose)
        case .closing:
            if let onClose { closeCallbacks.append(onClose) }
        case .closed:
            onClose?()
        }
    }

    /// Subclass hook, on the loop thread, just before `uv_close`.
    func willClose() {}

    /// Subclass hook, in the close callback before the memory is freed: drop callbacks and buffers.
    func didClose() {}

    /// Throws `EINVAL` unless the handle is open; libuv itself would assert or touch freed memory.
    func requireOpen(_ operation: String) throws {
        if state != .open {
            throw UVError(code: UVError.Code.EINVAL, operation: "\(operation) (handle is closing or closed)")
        }
    }

    fileprivate func finishClose() {
        precondition(state == .closing, "libuv close callback ran twice for one handle")
        didClose()
        memory.deallocate()
        state = .closed
        loop.handlesClosed += 1
        let callbacks = closeCallbacks
        closeCallbacks = []
        for callback in callbacks { callback() }
    }

    /// The wrapper behind a libuv handle, from `handle->data`. Only valid inside libuv callbacks.
    static func from<T: UVHandle>(_ raw: UnsafeMutableRawPointer?, as _: T.Type) -> T {
        let handle = UnsafeMutablePointer<uv_handle_t>(OpaquePointer(raw!))
        // Checked in debug builds; a plain pointer cast in release, as this runs for every read.
        return unsafeDowncast(Unmanaged<UVHandle>.fromOpaque(uv_handle_get_data(handle)!).takeUnretainedValue(), to: T.self)
    }
}

private func uvHandleDidClose(_ handle: UnsafeMutablePointer<uv_handle_t>?) {
    guard let handle, let data = uv_handle_get_data(handle) else { return }
    // Balances the passRetained in markInitialized; the wrapper may be deinitialised after this.
    let wrapper = Unmanaged<UVHandle>.fromOpaque(data).takeRetainedValue()
    wrapper.finishClose()
}
