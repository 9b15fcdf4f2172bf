#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads the fields of one frame body, checking every length against the bytes that are left.
struct FieldReader {
    let bytes: UnsafeRawBufferPointer
    let message: MessageType
    private(set) var offset: Int

    init(body: UnsafeRawBufferPointer, message: MessageType) {
        self.bytes = body
        self.message = message
        self.offset = 1  // after the type byte
    }

    var remaining: Int { bytes.count - offset }

    @inline(__always)
    mutating func integer<T: FixedWidthInteger & UnsignedInteger>(_: T.Type, _ field: StaticString) throws(ProtocolError) -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { throw .truncatedField(message: message, field: "\(field)") }
        let value = T(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
        offset += size
        return value
    }

    mutating func flag(_ field: StaticString) throws(ProtocolError) -> Bool {
        let byte = try integer(UInt8.self, field)
        guard byte <= 1 else { throw .invalidFlag(message: message, field: "\(field)", value: byte) }
        return byte == 1
    }

    mutating func string(_ field: StaticString) throws(ProtocolError) -> String {
        let length = try integer(UInt32.self, field)
        guard UInt64(length) <= UInt64(remaining) else { throw .truncatedField(message: message, field: "\(field)") }
        let count = Int(length)
        let slice = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)])
        // String(decoding:) always yields valid UTF-8, repairing invalid input, so the bytes come back
        // unchanged exactly when they were valid. This is much faster than String(validating:).
        var decoded = slice.withMemoryRebound(to: UInt8.self) { String(decoding: $0, as: UTF8.self) }
        let unchanged = decoded.withUTF8 { utf8 in
            utf8.count == count && (count == 0 || memcmp(utf8.baseAddress!, slice.baseAddress!, count) == 0)
        }
        guard unchanged else { throw .invalidUTF8(message: message, field: "\(field)") }
        offset += count
        return decoded
    }

    mutating func optionalString(_ field: StaticString) throws(ProtocolError) -> String? {
        try flag(field) ? try string(field) : nil
    }
}
