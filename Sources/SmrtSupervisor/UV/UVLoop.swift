import CLibUV

/// One libuv event loop (`uv_loop_t`), owned by this object.
///
/// Not thread-safe: create handles on it and run it from one thread (the loop thread). The only
/// call allowed from other threads is ``UVAsync/send()``.
///
/// Handles keep their loop alive, so a loop is deinitialised only after every handle made on it
/// has been closed and its close callback has run.
public final class UVLoop {
    /// How ``run(_:)`` waits; mirrors `uv_run_mode`.
    public enum RunMode: Sendable {
        /// Run until there are no active, referenced handles or requests left, or ``UVLoop/stop()``.
        case `default`
        /// Poll for I/O once, blocking if there is nothing pending.
        case once
        /// Poll for I/O once without blocking.
        case noWait
    }

    let raw: UnsafeMutablePointer<uv_loop_t>
    /// Whether ``close()`` has succeeded; the loop can no longer be used.
    public private(set) var isClosed = false
    /// Handles successfully initialised on this loop (diagnostics, tests).
    public internal(set) var handlesOpened = 0
    /// Handles whose close callback has run (diagnostics, tests). Each handle counts once.
    public internal(set) var handlesClosed = 0

    /// Creates and initialises a new loop (`uv_loop_init`).
    public init() throws {
        raw = .allocate(capacity: 1)
        let rc = uv_loop_init(raw)
        if rc < 0 {
            raw.deallocate()
            throw UVError(code: rc, operation: "uv_loop_init")
        }
    }

    deinit {
        // Handles retain the loop, so none can be open here; if closing still fails, leaking the
        // loop memory is safer than freeing memory libuv may still point into.
        if !isClosed { try? close() }
    }

    /// Runs the loop (`uv_run`). Returns `true` if active handles or requests remain
    /// (after ``stop()``, or in `.once`/`.noWait` mode).
    @discardableResult
    public func run(_ mode: RunMode = .default) -> Bool {
        precondition(!isClosed, "UVLoop.run on a closed loop")
        let uvMode: uv_run_mode
        switch mode {
        case .default: uvMode = UV_RUN_DEFAULT
        case .once: uvMode = UV_RUN_ONCE
        case .noWait: uvMode = UV_RUN_NOWAIT
        }
        return uv_run(raw, uvMode) != 0
    }

    /// Makes the current ``run(_:)`` return after this iteration (`uv_stop`).
    public func stop() {
        uv_stop(raw)
    }

    /// Whether the loop has active, referenced handles or requests, or closing handles.
    public var isAlive: Bool { uv_loop_alive(raw) != 0 }

    /// The cached loop time in milliseconds (`uv_now`), updated at the start of each iteration.
    public var now: UInt64 { uv_now(raw) }

    /// Refreshes the cached loop time (`uv_update_time`).
    public func updateTime() {
        uv_update_time(raw)
    }

    /// Monotonic high-resolution time in nanoseconds (`uv_hrtime`); not cached.
    public var hrtimeNanos: UInt64 { uv_hrtime() }

    /// Monotonic high-resolution time in nanoseconds (`uv_hrtime`); usable without a loop.
    public static var hrtimeNanos: UInt64 { uv_hrtime() }

    /// A line per handle still known to the loop, e.g. `"timer (active)"` or `"pipe (closing)"`.
    /// libuv's own internal handles are not listed.
    public var handleDescriptions: [String] {
        walk().map { handle in
            var flags: [String] = []
            if uv_is_closing(handle) != 0 { flags.append("closing") }
            if uv_is_active(handle) != 0 { flags.append("active") }
            if uv_has_ref(handle) == 0 { flags.append("unref") }
            let name = String(cString: uv_handle_type_name(uv_handle_get_type(handle)))
            return flags.isEmpty ? name : "\(name) (\(flags.joined(separator: ", ")))"
        }
    }

    /// Closes every handle on this loop that is not already closing. Run the loop afterwards
    /// (or call ``close()``) so the close callbacks run.
    public func closeAllHandles() {
        for handle in walk() where uv_is_closing(handle) == 0 {
            guard let data = uv_handle_get_data(handle) else { continue }
            Unmanaged<UVHandle>.fromOpaque(data).takeUnretainedValue().close()
        }
    }

    /// Closes the loop (`uv_loop_close`) and frees it. Idempotent.
    ///
    /// Handles that are already closing get their close callbacks run first (the loop runs until
    /// they are done). If any handle is still open, nothing is run and this throws `EBUSY`, with the
    /// open handles named in the error's operation, so a leaked handle shows up at shutdown.
    public func close() throws {
        guard !isClosed else { return }
        let open = walk().filter { uv_is_closing($0) == 0 }
        if !open.isEmpty {
            let names = handleDescriptions.joined(separator: ", ")
            throw UVError(code: UVError.Code.EBUSY, operation: "uv_loop_close (open handles: \(names))")
        }
        // Only closing handles remain, so this returns once their close callbacks have run.
        uv_run(raw, UV_RUN_DEFAULT)
        try UVError.check(uv_loop_close(raw), "uv_loop_close")
        raw.deallocate()
        isClosed = true
    }

    private func walk() -> [UnsafeMutablePointer<uv_handle_t>] {
        guard !isClosed else { return [] }
        var handles: [UnsafeMutablePointer<uv_handle_t>] = []
        withUnsafeMutablePointer(to: &handles) { list in
            uv_walk(raw, { handle, arg in
                guard let handle, let arg else { return }
                arg.assumingMemoryBound(to: [UnsafeMutablePointer<uv_handle_t>].self).pointee.append(handle)
            }, list)
        }
        return handles
    }
}
