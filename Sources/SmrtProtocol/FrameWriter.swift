#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes fields into memory sized beforehand (from `WorkerMessage.bodyByteCount`), with no bounds checks
/// or intermediate allocations: the encoder is on the supervisor's hot path.
struct FrameWriter {
    private var cursor: UnsafeMutableRawPointer

    init(at start: UnsafeMutableRawPointer) { cursor = start }

    @inline(__always)
    mutating func integer<T: FixedWidthInteger & UnsignedInteger>(_ value: T) {
        cursor.storeBytes(of: value.bigEndian, as: T.self)
        cursor += MemoryLayout<T>.size
    }

    /// A `str`: `u32` byte length, then the UTF-8 bytes.
    @inline(__always)
    mutating func string(_ value: String) {
        var value = value  // withUTF8 is mutating; a native string is not copied
        value.withUTF8 { utf8 in
            integer(UInt32(truncatingIfNeeded: utf8.count))
            if let base = utf8.baseAddress { memcpy(cursor, base, utf8.count) }
            cursor += utf8.count
        }
    }

    /// An `optstr`: `u8` 0 when absent, else `u8` 1 and a `str`.
    @inline(__always)
    mutating func optionalString(_ value: String?) {
        if let value {
            integer(UInt8(1))
            string(value)
        } else {
            integer(UInt8(0))
        }
    }
}
