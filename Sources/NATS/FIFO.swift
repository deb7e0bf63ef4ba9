/// A first-in first-out list with O(1) appends and removals at the front, reusing its
/// storage (an array and a head index, compacted as the head advances).
public struct FIFO<Element> {
    public init() {}

    private var items: [Element] = []
    private var head = 0

    public var isEmpty: Bool { head == items.count }
    public var count: Int { items.count - head }
    public var first: Element? { head < items.count ? items[head] : nil }

    public mutating func append(_ element: Element) { items.append(element) }

    public mutating func popFirst() -> Element? {
        guard head < items.count else { return nil }
        let element = items[head]
        head += 1
        if head == items.count {
            items.removeAll(keepingCapacity: items.capacity <= 4_096)
            head = 0
        } else if head >= 1_024 && head * 2 >= items.count {
            items.removeFirst(head)
            head = 0
        }
        return element
    }

    /// Puts an element back at the front (it keeps its turn).
    mutating func pushFront(_ element: Element) {
        if head > 0 {
            head -= 1
            items[head] = element
        } else {
            items.insert(element, at: 0)
        }
    }

    /// Removes the elements `matching` says; keeps the order of the others.
    mutating func removeAll(where matching: (Element) -> Bool) {
        items.removeFirst(head)
        head = 0
        items.removeAll(where: matching)
    }
}
