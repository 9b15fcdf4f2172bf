/// Splits a child's stdout or stderr into lines. A line longer than `maxLineBytes` is cut into pieces, so a
/// child that never writes a newline cannot grow the buffer without bound.
struct OutputLineBuffer {
    let maxLineBytes: Int
    private var pending: [UInt8] = []

    init(maxLineBytes: Int = 16 * 1024) {
        self.maxLineBytes = maxLineBytes
    }

    /// Adds bytes and returns the complete lines they finish (without the newline; a trailing CR is dropped).
    mutating func append(_ bytes: UnsafeRawBufferPointer) -> [String] {
        var lines: [String] = []
        for byte in bytes {
            if byte == UInt8(ascii: "\n") {
                lines.append(take())
            } else {
                pending.append(byte)
                if pending.count >= maxLineBytes { lines.append(take()) }
            }
        }
        return lines
    }

    /// What is left without a newline (at end of stream), or nil if nothing.
    mutating func flush() -> String? {
        pending.isEmpty ? nil : take()
    }

    private mutating func take() -> String {
        if pending.last == UInt8(ascii: "\r") { pending.removeLast() }
        let line = String(decoding: pending, as: UTF8.self)
        pending.removeAll(keepingCapacity: true)
        return line
    }
}
