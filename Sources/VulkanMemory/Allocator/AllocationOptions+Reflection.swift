extension AllocationOptions: CustomReflectable {
    /// The options' properties, as `print` and `dump` show a struct: the packed storage
    /// (`Flags`, the box of rare fields) stays out of logs and debuggers.
    public var customMirror: Mirror {
        Mirror(self, children: [
            "dedicated": dedicated, "canAlias": canAlias, "mapped": mapped, "name": name as Any,
            "userData": userData, "priority": priority as Any, "strategy": strategy,
            "dedicatedTarget": dedicatedTarget as Any, "upperAddress": upperAddress, "minAlignment": minAlignment,
            "neverAllocate": neverAllocate, "withinBudget": withinBudget, "hostAccess": hostAccess,
            "allowTransferInstead": allowTransferInstead, "exportHandleTypes": exportHandleTypes,
            "memoryAllocateNext": memoryAllocateNext as Any,
        ], displayStyle: .struct)
    }
}
