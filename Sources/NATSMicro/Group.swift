/// A subject prefix for endpoints, with a default queue group; groups nest.
public struct Group {
    public let service: Service
    /// The full prefix ("" for a group named ""; parent and child joined by ".").
    public let prefix: String
    let queue: QueueSetting

    init(service: Service, parentPrefix: String, parentQueue: QueueSetting, name: String, queueGroup: String?,
         queueGroupDisabled: Bool) throws {
        if !name.isEmpty { try MicroNames.checkSubject(name, what: "group name") }
        if name.utf8.contains(UInt8(ascii: ">")) { throw MicroError.invalidConfig("group name \(quoted(name)) may not contain \">\"") }
        if let queueGroup { try MicroNames.checkQueueGroup(queueGroup) }
        self.service = service
        prefix = [parentPrefix, name].filter { !$0.isEmpty }.joined(separator: ".")
        queue = QueueSetting(group: queueGroup, disabled: queueGroupDisabled).resolved(under: parentQueue)
    }

    @discardableResult
    public func addEndpoint(
        _ name: String, config: EndpointConfig = EndpointConfig(), handler: @escaping (MicroRequest) -> Void
    ) throws -> Endpoint {
        try service.addEndpoint(name, prefix: prefix, parentQueue: queue, config: config, handler: handler)
    }

    public func addGroup(_ name: String, queueGroup: String? = nil, queueGroupDisabled: Bool = false) throws -> Group {
        try Group(service: service, parentPrefix: prefix, parentQueue: queue, name: name, queueGroup: queueGroup,
                  queueGroupDisabled: queueGroupDisabled)
    }
}
