/// A FIFO of messages with O(1) pop from the front and bulk hand-over, sized by message count
/// and payload bytes for the pending limits.
struct MessageQueue {
    private var items: [Message] = []
    private var head = 0
    private(set) var bytes = 0

    var count: Int { items.count - head }
    var isEmpty: Bool { head == items.count }
    var first: Message? { head < items.count ? items[head] : nil }

    mutating func append(_ message: Message) {
        items.append(message)
        bytes += message.storage.payloadLength + message.storage.headerLength
    }

    mutating func popFirst() -> Message? {
        guard head < items.count else { return nil }
        let message = items[head]
        head += 1
        bytes -= message.storage.payloadLength + message.storage.headerLength
        if head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 1024 && head * 2 >= items.count {
            items.removeFirst(head)
            head = 0
        }
        return message
    }

    mutating func removeAll() {
        items.removeAll()
        head = 0
        bytes = 0
    }
}
