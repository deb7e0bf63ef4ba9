import NATS

/// Consumer management. Configurations and infos are the server's JSON (`ConsumerConfig`,
/// `ConsumerInfo`): durable or ephemeral, pull or push (`deliver_subject`), deliver and ack
/// policies, filters, max deliver, backoff, max ack pending, heartbeats, flow control.
public enum ConsumerAction: String {
    /// Creates the consumer, or accepts one that exists with the same configuration.
    case createOrUpdate = ""
    /// Fails when a consumer of that name exists with another configuration (2.10+ servers).
    case create
    /// Fails when no consumer of that name exists (2.10+ servers).
    case update
}

extension APICall where Value == JSONValue {
    /// Creates or updates a consumer on `stream`. Named (`name` or `durable_name`) consumers
    /// go to `CONSUMER.CREATE.<stream>.<name>`; without a name the server makes an ephemeral one.
    public static func addConsumer(stream: String, _ config: JSONValue, action: ConsumerAction = .createOrUpdate) throws
        -> APICall
    {
        try Names.check(stream, "stream")
        guard config.isObject else { throw NATSError.invalidArgument("a consumer configuration is a JSON object") }
        let durable = config.string("durable_name")
        let name = config.string("name")
        if let durable, let name, durable != name {
            throw NATSError.invalidArgument("a consumer's name and durable name differ (\"\(name)\", \"\(durable)\")")
        }
        var subject = "CONSUMER.CREATE." + stream
        if let consumerName = name ?? durable {
            try Names.check(consumerName, "consumer")
            subject += "." + consumerName
        } else if action == .update {
            throw NATSError.invalidArgument("an update names its consumer")
        }
        if let filter = config.string("filter_subject"), !Subject.isValidSubscribeSubject(filter) {
            throw NATSError.invalidSubject(filter)
        }
        for filter in config.strings("filter_subjects") where !Subject.isValidSubscribeSubject(filter) {
            throw NATSError.invalidSubject(filter)
        }
        let body = JSONValue.object()
        body.set("stream_name", stream)
        body.set("config", config)
        if action != .createOrUpdate { body.set("action", action.rawValue) }
        var call = APICall(subject: subject, body: body) { $0 }
        if config.value("filter_subjects") != nil { call.requires = ((2, 10, 0), "filter_subjects") }
        return call
    }

    public static func consumerInfo(stream: String, consumer: String) throws -> APICall {
        try Names.check(stream, "stream")
        try Names.check(consumer, "consumer")
        return APICall(subject: "CONSUMER.INFO.\(stream).\(consumer)") { $0 }
    }
}

extension APICall where Value == Void {
    public static func deleteConsumer(stream: String, consumer: String) throws -> APICall {
        try Names.check(stream, "stream")
        try Names.check(consumer, "consumer")
        return APICall(subject: "CONSUMER.DELETE.\(stream).\(consumer)") { try requireSuccess($0) }
    }
}

extension APICall where Value == Page {
    /// A page of `CONSUMER.LIST` (infos) or `CONSUMER.NAMES` (names) of `stream` from `offset`.
    public static func consumers(stream: String, names: Bool, offset: Int) throws -> APICall {
        try Names.check(stream, "stream")
        let body = JSONValue.object()
        body.set("offset", offset)
        return APICall(subject: (names ? "CONSUMER.NAMES." : "CONSUMER.LIST.") + stream, body: body) {
            try Page(reply: $0, key: "consumers")
        }
    }
}

extension JetStream {
    public func addConsumer(stream: String, _ config: JSONValue, action: ConsumerAction = .createOrUpdate) throws -> JSONValue {
        try perform(.addConsumer(stream: stream, config, action: action))
    }
    public func updateConsumer(stream: String, _ config: JSONValue) throws -> JSONValue {
        try perform(.addConsumer(stream: stream, config, action: .update))
    }
    public func consumerInfo(stream: String, consumer: String) throws -> JSONValue {
        try perform(.consumerInfo(stream: stream, consumer: consumer))
    }
    public func deleteConsumer(stream: String, consumer: String) throws {
        try perform(.deleteConsumer(stream: stream, consumer: consumer))
    }
    public func consumers(stream: String) throws -> [JSONValue] {
        try collectPages { try .consumers(stream: stream, names: false, offset: $0) }
    }
    public func consumerNames(stream: String) throws -> [String] {
        try collectPages { try .consumers(stream: stream, names: true, offset: $0) }.compactMap(\.stringValue)
    }
}
