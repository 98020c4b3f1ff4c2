import AWSCore

extension EC2Client {
    /// Polls `DescribeInstances` until the instance reaches `target` and returns it. A state the
    /// instance cannot leave for `target` (terminated, or shutting down while waiting for anything but
    /// terminated) fails at once with `UnexpectedInstanceState` and the state reason. Right after
    /// `RunInstances` the ID may not be visible yet (eventual consistency): `InvalidInstanceID.NotFound`
    /// counts as "not yet".
    public func waitForInstance(_ instanceID: String, toReach target: InstanceStateName,
                                waiter: Waiter = Waiter(timeout: 600)) throws -> Instance {
        try waiter.wait(for: "instance \(instanceID) to be \(target)", config: client.config) {
            let instances: [Instance]
            do {
                instances = try describeInstances(instanceIDs: [instanceID])
            } catch let error as AWSError where error.code == "InvalidInstanceID.NotFound" {
                return nil
            }
            guard let instance = instances.first(where: { $0.instanceID == instanceID }) else { return nil }
            if instance.state.name == target { return instance }
            let dead: Set<InstanceStateName> = [.terminated, .shuttingDown]
            if dead.contains(instance.state.name), target != .terminated {
                let reason = instance.stateReason?.message ?? instance.stateTransitionReason ?? "no reason given"
                throw AWSError(service: client.service, operation: "DescribeInstances", code: "UnexpectedInstanceState",
                               message: "instance \(instanceID) is \(instance.state.name), not \(target): \(reason)",
                               status: 0)
            }
            return nil
        }
    }

    /// Polls `DescribeImages` until the AMI is `available` and returns it; `failed`, `error`,
    /// `invalid` or `deregistered` fail at once with `ImageFailed` and the state reason. A just-created
    /// ID that is not visible yet (`InvalidAMIID.NotFound`) counts as "not yet".
    public func waitForImageAvailable(_ imageID: String, waiter: Waiter = Waiter(initialDelay: 15, maxDelay: 60,
                                                                                 timeout: 3600)) throws -> Image {
        try waiter.wait(for: "image \(imageID) to be available", config: client.config) {
            let images: [Image]
            do {
                images = try describeImages(imageIDs: [imageID])
            } catch let error as AWSError where error.code == "InvalidAMIID.NotFound" {
                return nil
            }
            guard let image = images.first(where: { $0.imageID == imageID }) else { return nil }
            switch image.state {
            case .available:
                return image
            case .failed, .error, .invalid, .deregistered:
                let reason = image.stateReason?.message ?? "no reason given"
                throw AWSError(service: client.service, operation: "DescribeImages", code: "ImageFailed",
                               message: "image \(imageID) is \(image.state): \(reason)", status: 0)
            default:
                return nil
            }
        }
    }
}
