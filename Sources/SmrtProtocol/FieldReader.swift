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
        let decoded = slice.withMemoryRebound(to: UInt8.self) { String(validating: $0, as: UTF8.self) }
        guard let decoded else { throw .invalidUTF8(message: message, field: "\(field)") }
        offset += count
        return decoded
    }

    mutating func optionalString(_ field: StaticString) throws(ProtocolError) -> String? {
        try flag(field) ? try string(field) : nil
    }
}
