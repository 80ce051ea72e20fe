using Siov.Fast.Caching;
using Siov.Fast.PageTables;

namespace Siov.Fast.Remapping;

public sealed partial class RemappingUnit
{
    // Writer-side bookkeeping (under _programLock): which tables the unit allocated.
    private readonly Dictionary<int, ulong> _contextTables = [];          // bus * 2 + upper half -> context table HPA
    private readonly Dictionary<ushort, ushort> _legacyDevices = [];      // requester id -> DID
    private readonly Dictionary<ushort, ScalableDevice> _scalableDevices = [];

    private sealed class ScalableDevice(ulong directory, int directoryFrames, int pdts, uint ridPasid)
    {
        public readonly ulong Directory = directory;
        public readonly int DirectoryFrames = directoryFrames;
        public readonly int Pdts = pdts;
        public readonly uint RidPasid = ridPasid;
        public readonly Dictionary<uint, ulong> PasidTables = [];          // PASID[19:6] -> PASID table HPA
        public readonly Dictionary<uint, ushort> Pasids = [];              // present PASID entries -> DID
    }

    /// <summary>
    /// Attaches a requester id to a domain, in whichever mode the unit runs: in legacy mode a
    /// context entry (TT = 00b, or 10b for pass-through); in scalable mode a scalable-mode
    /// context entry (created when absent) and the RID_PASID entry (PGTT = 010b or 100b).
    /// </summary>
    /// <param name="requesterId">Source id.</param>
    /// <param name="domainId">DID, below CAP_REG.ND's count (and not 0 when CAP_REG.CM is set).</param>
    /// <param name="table">The domain's second-level table, or null for pass-through.</param>
    /// <exception cref="IommuException">As the mode's setup method: EBUSY when already attached, ERANGE for a DID
    /// out of range, EINVAL for a table the unit cannot walk, ENODEV for pass-through without ECAP_REG.PT,
    /// ENOMEM when memory is full. Nothing changes on an error.</exception>
    public void AttachDevice(ushort requesterId, ushort domainId, SecondLevelPageTable? table)
    {
        lock (_programLock)
        {
            if (!IsScalableMode)
            {
                if (table == null)
                    SetupContextPassThrough(requesterId, domainId);
                else
                    SetupContextSecondLevel(requesterId, domainId, table);
                return;
            }
            bool created = false;
            if (!_scalableDevices.ContainsKey(requesterId))
            {
                ValidateDomainId(domainId);
                ValidateTarget(table);
                SetupScalableContext(requesterId);
                created = true;
            }
            uint ridPasid = _scalableDevices[requesterId].RidPasid;
            try
            {
                if (table == null)
                    SetupPasidPassThrough(requesterId, ridPasid, domainId);
                else
                    SetupPasidSecondLevel(requesterId, ridPasid, domainId, table);
            }
            catch (IommuException) when (created)
            {
                ClearContextEntry(requesterId); // undo the context entry this call created
                throw;
            }
        }
    }

    /// <summary>Detaches what <see cref="AttachDevice"/> attached: the context entry in legacy mode,
    /// the RID_PASID entry in scalable mode (the context entry and other PASIDs stay).</summary>
    /// <param name="requesterId">Source id.</param>
    /// <exception cref="IommuException">ENOENT when the device is not attached.</exception>
    public void DetachDevice(ushort requesterId)
    {
        lock (_programLock)
        {
            if (!IsScalableMode)
            {
                ClearContextEntry(requesterId);
                return;
            }
            if (!_scalableDevices.TryGetValue(requesterId, out ScalableDevice? device) || !device.Pasids.ContainsKey(device.RidPasid))
                Throw.Iommu(Errno.ENOENT, $"device {RequesterIds.Format(requesterId)} is not attached to a domain on this unit");
            TearDownPasidEntry(requesterId, device.RidPasid);
        }
    }

    /// <summary>
    /// Legacy mode: points the context entry of <paramref name="requesterId"/> at a second-level
    /// table (TT = 00b), as the Linux driver's <c>domain_context_mapping_one</c> does, and creates
    /// the bus's context table when needed.
    /// </summary>
    /// <param name="requesterId">Source id.</param>
    /// <param name="domainId">DID.</param>
    /// <param name="table">The second-level table; its levels must be in SAGAW, its leaf sizes in SLLPS,
    /// its memory the unit's and its HAW at most the unit's.</param>
    /// <param name="faultProcessingDisable">FPD: faults through this entry are not recorded.</param>
    /// <exception cref="IommuException">ENODEV in scalable mode; EBUSY when the context entry is present;
    /// ERANGE for a DID beyond ND; EINVAL for DID 0 with caching mode or a table the unit cannot walk;
    /// ENOMEM when memory is full.</exception>
    public void SetupContextSecondLevel(ushort requesterId, ushort domainId, SecondLevelPageTable table, bool faultProcessingDisable = false)
    {
        ArgumentNullException.ThrowIfNull(table);
        lock (_programLock)
        {
            RequireLegacy();
            ValidateDomainId(domainId);
            ValidateTarget(table);
            WriteLegacyContext(requesterId, domainId,
                ContextEntry.Create(0, table.RootHpa, table.Levels - 2, domainId, faultProcessingDisable));
        }
    }

    /// <summary>Legacy mode: a pass-through context entry (TT = 10b): the output address is the input address.</summary>
    /// <param name="requesterId">Source id.</param>
    /// <param name="domainId">DID (the identity domain's).</param>
    /// <exception cref="IommuException">ENODEV in scalable mode or without ECAP_REG.PT; EBUSY when present;
    /// ERANGE/EINVAL for the DID; ENOMEM when memory is full.</exception>
    public void SetupContextPassThrough(ushort requesterId, ushort domainId)
    {
        lock (_programLock)
        {
            RequireLegacy();
            ValidateDomainId(domainId);
            ValidateTarget(null);
            WriteLegacyContext(requesterId, domainId, ContextEntry.Create(2, 0, DefaultAddressWidth(), domainId));
        }
    }

    /// <summary>
    /// Clears the context entry of a requester id, then invalidates as Linux does
    /// (<c>domain_context_clear_one</c>): device-selective context cache, then the IOTLB of the
    /// domain (legacy) or of every PASID the device had (scalable, whose PASID directory and
    /// tables are then freed once no walk can still read them).
    /// </summary>
    /// <param name="requesterId">Source id.</param>
    /// <exception cref="IommuException">ENOENT when the context entry is not present.</exception>
    public void ClearContextEntry(ushort requesterId)
    {
        lock (_programLock)
        {
            if (!IsScalableMode)
            {
                if (!_legacyDevices.Remove(requesterId, out ushort did))
                    Throw.Iommu(Errno.ENOENT, $"device {RequesterIds.Format(requesterId)} has no context entry on this unit");
                ulong entry = ContextEntryHpa(requesterId, allocate: false);
                _memory.WriteUInt64(entry, 0); // P = 0 first
                _memory.WriteUInt64(entry + 8, 0);
                InvalidateContextCacheDevice(requesterId);
                InvalidateIotlbDomain(did);
                return;
            }

            if (!_scalableDevices.Remove(requesterId, out ScalableDevice? device))
                Throw.Iommu(Errno.ENOENT, $"device {RequesterIds.Format(requesterId)} has no scalable-mode context entry on this unit");
            ulong hpa = ContextEntryHpa(requesterId, allocate: false);
            _memory.WriteUInt64(hpa, 0);
            _memory.WriteUInt64(hpa + 8, 0);
            InvalidateContextCacheDevice(requesterId);
            foreach ((uint pasid, ushort did) in device.Pasids)
                InvalidateIotlbPasid(did, pasid);
            foreach (ulong table in device.PasidTables.Values)
                _memory.Reclaimer.Retire(table);
            for (int i = 0; i < device.DirectoryFrames; i++)
                _memory.Reclaimer.Retire(device.Directory + (ulong)i * VtdPaging.PageSize);
        }
    }

    /// <summary>
    /// Scalable mode: writes the scalable-mode context entry of a requester id with a new,
    /// empty PASID directory sized for the unit's PASID width (PDTS), PASIDE set when the unit
    /// supports PASIDs, and DTE when it supports device-TLBs.
    /// </summary>
    /// <param name="requesterId">Source id.</param>
    /// <param name="ridPasid">RID_PASID: the PASID that requests without a PASID use (non-zero needs ECAP_REG.RPS).</param>
    /// <exception cref="IommuException">ENODEV in legacy mode; EBUSY when present; EINVAL for a non-zero
    /// RID_PASID without RPS; ERANGE for a RID_PASID beyond the directory; ENOMEM when memory is full.</exception>
    public void SetupScalableContext(ushort requesterId, uint ridPasid = 0)
    {
        lock (_programLock)
        {
            RequireScalable();
            if (_scalableDevices.ContainsKey(requesterId))
                Throw.Iommu(Errno.EBUSY, $"device {RequesterIds.Format(requesterId)} already has a scalable-mode context entry");
            if (ridPasid != 0 && !ExtendedCapability.RidPasid)
                Throw.Iommu(Errno.EINVAL, $"RID_PASID {ridPasid} needs ECAP_REG.RPS, which this unit lacks (RID_PASID must be 0)");
            // The directory covers the unit's PASID width: 2^(width - 6) entries of 8 bytes, at least 128 (PDTS = 0).
            int pdts = Math.Max(0, Math.Max(PasidWidth, 7) - 6 - 7);
            uint limit = 1u << (pdts + 7 + 6);
            if (ridPasid >= limit)
                Throw.Iommu(Errno.ERANGE, $"RID_PASID {ridPasid} is beyond the PASID directory ({limit} PASIDs)");
            int frames = Math.Max(1, (1 << (pdts + 7)) * PasidDirectoryEntry.Size / (int)VtdPaging.PageSize);
            ulong hpaOfEntry = ContextEntryHpa(requesterId, allocate: true);
            ulong directory = _memory.Frames.AllocateContiguous(frames);
            var entry = ScalableContextEntry.Create(directory, pdts, ridPasid, ExtendedCapability.DeviceTlb, PasidWidth > 0);
            _memory.WriteUInt64(hpaOfEntry + 8, entry.Q1);
            _memory.WriteUInt64(hpaOfEntry, entry.Q0); // release store: P last
            _scalableDevices.Add(requesterId, new ScalableDevice(directory, frames, pdts, ridPasid));
        }
    }

    /// <summary>
    /// Scalable mode: points the PASID entry (<paramref name="requesterId"/>, <paramref name="pasid"/>) at a
    /// second-level table (PGTT = 010b), as <c>intel_pasid_setup_second_level</c> does. Creates the
    /// context entry (RID_PASID 0) and the PASID table when needed.
    /// </summary>
    /// <param name="requesterId">Source id.</param>
    /// <param name="pasid">PASID, below 2^<see cref="PasidWidth"/> (or the RID_PASID).</param>
    /// <param name="domainId">DID.</param>
    /// <param name="table">The second-level table.</param>
    /// <param name="faultProcessingDisable">FPD.</param>
    /// <exception cref="IommuException">ENODEV in legacy mode, without ECAP_REG.SLTS, or for a PASID other than
    /// RID_PASID on a unit without PASID support; ERANGE for a PASID or DID out of range; EBUSY when the entry
    /// is present; EINVAL for a table the unit cannot walk; ENOMEM when memory is full.</exception>
    public void SetupPasidSecondLevel(ushort requesterId, uint pasid, ushort domainId, SecondLevelPageTable table, bool faultProcessingDisable = false)
    {
        ArgumentNullException.ThrowIfNull(table);
        lock (_programLock)
        {
            RequireScalable();
            if (!ExtendedCapability.SecondLevelTranslation)
                Throw.Iommu(Errno.ENODEV, "this unit has no second-level translation in scalable mode (ECAP_REG.SLTS is clear)");
            ValidateDomainId(domainId);
            ValidateTarget(table);
            WritePasidEntry(requesterId, pasid, domainId,
                PasidEntry.SecondLevel(table.RootHpa, table.Levels - 2, domainId, faultProcessingDisable));
        }
    }

    /// <summary>Scalable mode: a pass-through PASID entry (PGTT = 100b), as <c>intel_pasid_setup_pass_through</c> does.</summary>
    /// <param name="requesterId">Source id.</param>
    /// <param name="pasid">PASID.</param>
    /// <param name="domainId">DID (the identity domain's).</param>
    /// <exception cref="IommuException">As <see cref="SetupPasidSecondLevel"/>, and ENODEV without ECAP_REG.PT.</exception>
    public void SetupPasidPassThrough(ushort requesterId, uint pasid, ushort domainId)
    {
        lock (_programLock)
        {
            RequireScalable();
            ValidateDomainId(domainId);
            ValidateTarget(null);
            WritePasidEntry(requesterId, pasid, domainId, PasidEntry.PassThrough(DefaultAddressWidth(), domainId));
        }
    }

    /// <summary>
    /// Scalable mode: tears a PASID entry down as <c>intel_pasid_tear_down_entry</c> does: clears P,
    /// invalidates the PASID cache (PASID-selective) and the IOTLB (PASID-selective), then zeroes the entry.
    /// </summary>
    /// <param name="requesterId">Source id.</param>
    /// <param name="pasid">PASID.</param>
    /// <exception cref="IommuException">ENODEV in legacy mode; ENOENT when the entry is not present.</exception>
    public void TearDownPasidEntry(ushort requesterId, uint pasid)
    {
        lock (_programLock)
        {
            RequireScalable();
            ushort did = 0;
            if (!_scalableDevices.TryGetValue(requesterId, out ScalableDevice? device) || !device.Pasids.Remove(pasid, out did))
                Throw.Iommu(Errno.ENOENT, $"PASID {pasid} of device {RequesterIds.Format(requesterId)} has no PASID entry on this unit");
            ulong entry = device.PasidTables[pasid >> 6] + (pasid & 63) * PasidEntry.Size;
            _memory.WriteUInt64(entry, _memory.ReadUInt64(entry) & ~1UL); // P = 0 first
            InvalidatePasidCache(did, pasid);
            InvalidateIotlbPasid(did, pasid);
            for (ulong q = 0; q < PasidEntry.Size; q += 8)
                _memory.WriteUInt64(entry + q, 0);
        }
    }

    /// <summary>The DID of a present PASID entry, or null (scalable mode); for inspection.</summary>
    /// <param name="requesterId">Source id.</param>
    /// <param name="pasid">PASID.</param>
    /// <returns>The DID, or null when no entry is present.</returns>
    public ushort? GetPasidDomain(ushort requesterId, uint pasid)
    {
        lock (_programLock)
        {
            return _scalableDevices.TryGetValue(requesterId, out ScalableDevice? device) && device.Pasids.TryGetValue(pasid, out ushort did)
                ? did
                : null;
        }
    }

    /// <summary>HPA of the context entry of a requester id (for inspection and tests), or null when its
    /// context table does not exist.</summary>
    /// <param name="requesterId">Source id.</param>
    /// <returns>The entry's HPA (16-byte entries in legacy mode, 32-byte in scalable mode).</returns>
    public ulong? GetContextEntryAddress(ushort requesterId)
    {
        lock (_programLock)
        {
            int key = ContextTableKey(requesterId);
            if (!_contextTables.TryGetValue(key, out ulong table))
                return null;
            return table + (ulong)(IsScalableMode ? (requesterId & 0x7F) * ScalableContextEntry.Size : (requesterId & 0xFF) * ContextEntry.Size);
        }
    }

    /// <summary>HPA of the PASID entry (requester id, PASID) (for inspection and tests), or null when its PASID table does not exist.</summary>
    /// <param name="requesterId">Source id.</param>
    /// <param name="pasid">PASID.</param>
    /// <returns>The 64-byte entry's HPA.</returns>
    public ulong? GetPasidEntryAddress(ushort requesterId, uint pasid)
    {
        lock (_programLock)
        {
            return _scalableDevices.TryGetValue(requesterId, out ScalableDevice? device) && device.PasidTables.TryGetValue(pasid >> 6, out ulong table)
                ? table + (pasid & 63) * PasidEntry.Size
                : null;
        }
    }

    private void RequireLegacy()
    {
        if (IsScalableMode)
            Throw.Iommu(Errno.ENODEV, "this unit runs in scalable mode; legacy context entries do not exist there");
    }

    private void RequireScalable()
    {
        if (!IsScalableMode)
            Throw.Iommu(Errno.ENODEV, "this unit runs in legacy mode (no ECAP_REG.SMTS, or scalable mode switched off); PASID tables do not exist there");
    }

    private int DefaultAddressWidth()
    {
        for (int levels = 4; levels >= 3; levels--)
        {
            if (Capability.SupportsLevels(levels))
                return levels - 2;
        }
        return 3; // 5-level only
    }

    private void ValidateDomainId(ushort domainId)
    {
        if (domainId >= NumberOfDomains)
            Throw.Iommu(Errno.ERANGE, $"domain id {domainId} is beyond the {NumberOfDomains} domain ids of this unit (CAP_REG.ND)");
        if (domainId == 0 && Capability.CachingMode)
            Throw.Iommu(Errno.EINVAL, "domain id 0 is reserved on a unit with caching mode (CAP_REG.CM)");
    }

    private void ValidateTarget(SecondLevelPageTable? table)
    {
        if (table == null)
        {
            if (!ExtendedCapability.PassThrough)
                Throw.Iommu(Errno.ENODEV, "this unit has no pass-through translation (ECAP_REG.PT is clear)");
            return;
        }
        if (!ReferenceEquals(table.Memory, _memory))
            Throw.Iommu(Errno.EINVAL, "the page table lives in another simulated memory than this unit's");
        if (!Capability.SupportsLevels(table.Levels))
            Throw.Iommu(Errno.EINVAL,
                $"a {table.Levels}-level table is not in this unit's SAGAW ({Capability.SupportedAdjustedGuestAddressWidths:x})");
        if ((table.Format.PageSizes & ~PageSizes) != 0)
            Throw.Iommu(Errno.EINVAL,
                $"the table may use leaf sizes {Throw.Hex((ulong)table.Format.PageSizes)} beyond this unit's SLLPS ({Throw.Hex((ulong)PageSizes)})");
        if (table.Format.HostAddressWidth > _hostAddressWidth)
            Throw.Iommu(Errno.EINVAL,
                $"the table's {table.Format.HostAddressWidth}-bit host address width exceeds this unit's {_hostAddressWidth} bits");
    }

    private int ContextTableKey(ushort requesterId) =>
        IsScalableMode ? (requesterId >> 8) * 2 + ((requesterId & 0xFF) >= 128 ? 1 : 0) : requesterId >> 8;

    /// <summary>HPA of a context entry; with <paramref name="allocate"/>, creates the bus's context table and root entry half.</summary>
    private ulong ContextEntryHpa(ushort requesterId, bool allocate)
    {
        int key = ContextTableKey(requesterId);
        if (!_contextTables.TryGetValue(key, out ulong table))
        {
            if (!allocate)
                Throw.Iommu(Errno.ENOENT, $"no context table for device {RequesterIds.Format(requesterId)}");
            table = _memory.Frames.Allocate();
            _contextTables.Add(key, table);
            // The new table is zeroed; the release store publishes it complete.
            ulong rootHalf = _rootTable + (ulong)(requesterId >> 8) * RootEntry.Size + (ulong)(IsScalableMode ? (key & 1) * 8 : 0);
            _memory.WriteUInt64(rootHalf, table | RootEntry.PresentBit);
        }
        return table + (ulong)(IsScalableMode ? (requesterId & 0x7F) * ScalableContextEntry.Size : (requesterId & 0xFF) * ContextEntry.Size);
    }

    private void WriteLegacyContext(ushort requesterId, ushort domainId, ContextEntry entry)
    {
        if (_legacyDevices.ContainsKey(requesterId))
            Throw.Iommu(Errno.EBUSY, $"device {RequesterIds.Format(requesterId)} already has a context entry (clear it first)");
        ulong hpa = ContextEntryHpa(requesterId, allocate: true);
        _memory.WriteUInt64(hpa + 8, entry.High);
        _memory.WriteUInt64(hpa, entry.Low); // release store: P last
        _legacyDevices.Add(requesterId, domainId);
    }

    private void WritePasidEntry(ushort requesterId, uint pasid, ushort domainId, PasidEntry entry)
    {
        bool createdContext = false;
        if (!_scalableDevices.TryGetValue(requesterId, out ScalableDevice? device))
        {
            SetupScalableContext(requesterId);
            device = _scalableDevices[requesterId];
            createdContext = true;
        }
        try
        {
            if (pasid != device.RidPasid)
            {
                if (PasidWidth == 0)
                    Throw.Iommu(Errno.ENODEV, $"this unit does not support PASIDs (ECAP_REG.PASID is clear); only RID_PASID {device.RidPasid} can be set up");
                if (pasid >= 1u << PasidWidth)
                    Throw.Iommu(Errno.ERANGE, $"PASID {pasid} is beyond this unit's {PasidWidth}-bit PASID width");
            }
            if (device.Pasids.ContainsKey(pasid))
                Throw.Iommu(Errno.EBUSY, $"PASID {pasid} of device {RequesterIds.Format(requesterId)} already has a PASID entry (tear it down first)");

            if (!device.PasidTables.TryGetValue(pasid >> 6, out ulong pasidTable))
            {
                pasidTable = _memory.Frames.Allocate();
                device.PasidTables.Add(pasid >> 6, pasidTable);
                _memory.WriteUInt64(device.Directory + (ulong)(pasid >> 6) * PasidDirectoryEntry.Size, PasidDirectoryEntry.Create(pasidTable).Value);
            }
            ulong hpa = pasidTable + (pasid & 63) * PasidEntry.Size;
            _memory.WriteUInt64(hpa + 8, entry.Q1);
            _memory.WriteUInt64(hpa, entry.Q0); // release store: P last
            device.Pasids.Add(pasid, domainId);
        }
        catch (IommuException) when (createdContext)
        {
            ClearContextEntry(requesterId);
            throw;
        }
    }
}
