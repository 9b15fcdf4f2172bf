import CLibUV

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A libuv stream (`uv_stream_t`): the reading, writing and shutdown shared by ``UVPipe`` and
/// future stream types.
///
/// Reading reuses one buffer per stream: the bytes handed to the read callback are only valid
/// during that call. Writing copies the bytes into one heap block (request + payload) that is
/// freed in the write callback, so callers never keep buffers alive for libuv.
///
/// Writes to a peer that has gone away raise `SIGPIPE` (libuv uses plain `write(2)`); call
/// ``ignoreBrokenPipeSignal()`` once at startup to get `EPIPE` errors instead.
public class UVStream: UVHandle {
    /// What a read produced.
    public enum ReadEvent {
        /// Bytes read; valid only until the read callback returns.
        case data(UnsafeRawBufferPointer)
        /// The peer closed its writing side; reading has stopped.
        case eof
        /// A read error (e.g. `ECONNRESET`); close the stream.
        case failed(UVError)
    }

    /// Size of the reusable read buffer, in bytes.
    public let readBufferSize: Int
    private var readBuffer: UnsafeMutableRawPointer?
    private var readCallback: ((UVStream, ReadEvent) -> Void)?
    /// Asked right before each read (libuv's allocation callback, on the loop thread): the most bytes to read now
    /// (0: none this time; libuv asks again when the stream is next readable), or nil for a whole buffer. Lets a
    /// reader act on other input first and read exactly what was there before it did.
    var readLimit: (() -> Int?)?
    /// The last read was given no room on purpose (`readLimit` said 0): its ENOBUFS is not an error.
    private var skippedRead = false

    init(loop: UVLoop, type: uv_handle_type, readBufferSize: Int) {
        precondition(readBufferSize > 0 && readBufferSize <= Int(UInt32.max))
        self.readBufferSize = readBufferSize
        super.init(loop: loop, type: type)
    }

    var stream: UnsafeMutablePointer<uv_stream_t> {
        UnsafeMutablePointer<uv_stream_t>(OpaquePointer(memory))
    }

    /// Starts reading (`uv_read_start`); `callback` runs on the loop thread for each chunk, and once
    /// for EOF or an error.
    public func startReading(_ callback: @escaping (UVStream, ReadEvent) -> Void) throws {
        try requireOpen("uv_read_start")
        if readBuffer == nil {
            readBuffer = .allocate(byteCount: readBufferSize, alignment: 16)
        }
        readCallback = callback
        try UVError.check(uv_read_start(stream, uvStreamAllocate, uvStreamRead), "uv_read_start")
    }

    /// Stops reading (`uv_read_stop`). Does nothing on a closed stream.
    public func stopReading() {
        guard !isClosing else { return }
        _ = uv_read_stop(stream)
    }

    /// Queues a copy of `bytes` for writing (`uv_write`). Throws if libuv refuses the write at once;
    /// later failures (e.g. `EPIPE`, or `ECANCELED` when the stream is closed first) reach
    /// `completion`, which runs on the loop thread with nil on success.
    public func write(_ bytes: UnsafeRawBufferPointer, completion: ((UVError?) -> Void)? = nil) throws {
        try requireOpen("uv_write")
        let header = (uv_req_size(UV_WRITE) + 15) & ~15
        let block = UnsafeMutableRawPointer.allocate(byteCount: header + bytes.count, alignment: 16)
        let payload = block + header
        if let base = bytes.baseAddress, bytes.count > 0 {
            payload.copyMemory(from: base, byteCount: bytes.count)
        }
        let request = block.assumingMemoryBound(to: uv_write_t.self)
        uv_req_set_data(
            UnsafeMutablePointer<uv_req_t>(OpaquePointer(block)),
            completion.map { Unmanaged.passRetained(UVStreamCompletion($0)).toOpaque() })
        var buffer = uv_buf_init(payload.assumingMemoryBound(to: CChar.self), UInt32(bytes.count))
        let rc = uv_write(request, stream, &buffer, 1, uvStreamWritten)
        if rc < 0 {
            UVStreamCompletion.release(UnsafeMutablePointer<uv_req_t>(OpaquePointer(block)))
            block.deallocate()
            throw UVError(code: rc, operation: "uv_write")
        }
    }

    /// Writes what the kernel takes now (`uv_try_write`), without queueing anything: returns the number of bytes
    /// written, 0 when none can be written now (the kernel's buffer is full, or earlier writes are still queued).
    /// Unlike ``write(_:completion:)``, a failure (e.g. `EPIPE`: the peer closed) is thrown here, not reported later.
    public func tryWrite(_ bytes: UnsafeRawBufferPointer) throws -> Int {
        try requireOpen("uv_try_write")
        guard let base = bytes.baseAddress, bytes.count > 0 else { return 0 }
        var buffer = uv_buf_init(UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: CChar.self)), UInt32(bytes.count))
        let rc = uv_try_write(stream, &buffer, 1)
        if rc == UV_EAGAIN.rawValue { return 0 }
        try UVError.check(rc, "uv_try_write")
        return Int(rc)
    }

    /// Queues a copy of `bytes` for writing; same contract as the `UnsafeRawBufferPointer` overload.
    public func write<Bytes: Collection>(_ bytes: Bytes, completion: ((UVError?) -> Void)? = nil) throws
    where Bytes.Element == UInt8 {
        let done: Void?? = try bytes.withContiguousStorageIfAvailable { buffer in
            try write(UnsafeRawBufferPointer(buffer), completion: completion)
        }
        if done == nil {
            try Array(bytes).withUnsafeBytes { try write($0, completion: completion) }
        }
    }

    /// Shuts down the writing side once queued writes are done (`uv_shutdown`); the peer reads EOF.
    /// `completion` runs on the loop thread with nil on success.
    public func shutdown(completion: ((UVError?) -> Void)? = nil) throws {
        try requireOpen("uv_shutdown")
        let block = UnsafeMutableRawPointer.allocate(byteCount: uv_req_size(UV_SHUTDOWN), alignment: 16)
        uv_req_set_data(
            UnsafeMutablePointer<uv_req_t>(OpaquePointer(block)),
            completion.map { Unmanaged.passRetained(UVStreamCompletion($0)).toOpaque() })
        let rc = uv_shutdown(block.assumingMemoryBound(to: uv_shutdown_t.self), stream, uvStreamShutDown)
        if rc < 0 {
            UVStreamCompletion.release(UnsafeMutablePointer<uv_req_t>(OpaquePointer(block)))
            block.deallocate()
            throw UVError(code: rc, operation: "uv_shutdown")
        }
    }

    /// Bytes queued for writing that the kernel has not accepted yet (`uv_stream_get_write_queue_size`).
    public var writeQueueSize: Int {
        isClosing ? 0 : uv_stream_get_write_queue_size(stream)
    }

    /// Whether the stream can be read from (`uv_is_readable`).
    public var isReadable: Bool { !isClosing && uv_is_readable(stream) != 0 }

    /// Whether the stream can be written to (`uv_is_writable`).
    public var isWritable: Bool { !isClosing && uv_is_writable(stream) != 0 }

    /// Ignores `SIGPIPE` process-wide, so writing to a closed socket or pipe fails with `EPIPE`
    /// instead of killing the process. Children started with ``UVProcess`` get default dispositions back.
    public static func ignoreBrokenPipeSignal() {
        _ = signal(SIGPIPE, SIG_IGN)
    }

    override func didClose() {
        readCallback = nil
        readLimit = nil
        readBuffer?.deallocate()
        readBuffer = nil
    }

    fileprivate func fillReadBuffer(_ buffer: UnsafeMutablePointer<uv_buf_t>) {
        var size = readBufferSize
        if let limit = readLimit?() { size = min(size, max(0, limit)) }
        // A zero-length buffer makes libuv report ENOBUFS instead of reading (and go on watching the stream).
        skippedRead = size == 0 && readBuffer != nil
        buffer.pointee = uv_buf_init(
            readBuffer?.assumingMemoryBound(to: CChar.self), readBuffer == nil ? 0 : UInt32(size))
    }

    fileprivate func didRead(_ count: Int, _ buffer: UnsafePointer<uv_buf_t>?) {
        guard let callback = readCallback else { return }
        if count > 0 {
            callback(self, .data(UnsafeRawBufferPointer(start: buffer?.pointee.base, count: count)))
        } else if count == Int(UVError.Code.ENOBUFS) && skippedRead {
            skippedRead = false
        } else if count == Int(UVError.Code.EOF) {
            callback(self, .eof)
        } else if count < 0 {
            callback(self, .failed(UVError(code: Int32(count), operation: "uv_read")))
        }
        // count == 0: EAGAIN, nothing to report.
    }
}

/// A write or shutdown completion, carried in `req->data`.
private final class UVStreamCompletion {
    let body: (UVError?) -> Void
    init(_ body: @escaping (UVError?) -> Void) { self.body = body }

    static func release(_ request: UnsafeMutablePointer<uv_req_t>) {
        if let data = uv_req_get_data(request) {
            Unmanaged<UVStreamCompletion>.fromOpaque(data).release()
        }
    }

    static func finish(_ request: UnsafeMutablePointer<uv_req_t>, status: Int32, operation: String) {
        let completion = uv_req_get_data(request).map {
            Unmanaged<UVStreamCompletion>.fromOpaque($0).takeRetainedValue()
        }
        UnsafeMutableRawPointer(request).deallocate()
        completion?.body(status < 0 ? UVError(code: status, operation: operation) : nil)
    }
}

private func uvStreamAllocate(
    _ raw: UnsafeMutablePointer<uv_handle_t>?, _ suggested: Int, _ buffer: UnsafeMutablePointer<uv_buf_t>?
) {
    UVHandle.from(raw, as: UVStream.self).fillReadBuffer(buffer!)
}

private func uvStreamRead(_ raw: UnsafeMutablePointer<uv_stream_t>?, _ count: Int, _ buffer: UnsafePointer<uv_buf_t>?) {
    UVHandle.from(raw, as: UVStream.self).didRead(count, buffer)
}

private func uvStreamWritten(_ request: UnsafeMutablePointer<uv_write_t>?, _ status: Int32) {
    UVStreamCompletion.finish(UnsafeMutablePointer<uv_req_t>(OpaquePointer(request!)), status: status, operation: "uv_write")
}

private func uvStreamShutDown(_ request: UnsafeMutablePointer<uv_shutdown_t>?, _ status: Int32) {
    UVStreamCompletion.finish(UnsafeMutablePointer<uv_req_t>(OpaquePointer(request!)), status: status, operation: "uv_shutdown")
}
