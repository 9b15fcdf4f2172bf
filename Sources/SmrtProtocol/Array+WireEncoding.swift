extension Array where Element == UInt8 {
    /// Appends an unsigned integer in big-endian byte order.
    @inline(__always)
    mutating func appendWire<T: FixedWidthInteger & UnsignedInteger>(_ value: T) {
        var bigEndian = value.bigEndian
        Swift.withUnsafeBytes(of: &bigEndian) { append(contentsOf: $0) }
    }

    /// Appends a `str`: `u32` byte length, then the UTF-8 bytes.
    @inline(__always)
    mutating func appendWire(_ string: String) {
        let utf8 = string.utf8
        appendWire(UInt32(truncatingIfNeeded: utf8.count))
        append(contentsOf: utf8)
    }

    /// Appends an `optstr`: `u8` 0 when absent, else `u8` 1 and a `str`.
    @inline(__always)
    mutating func appendWireOptional(_ string: String?) {
        if let string {
            append(1)
            appendWire(string)
        } else {
            append(0)
        }
    }
}
