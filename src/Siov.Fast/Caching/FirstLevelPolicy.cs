namespace Siov.Fast.Caching;

/// <summary>What a PASID-cache entry keeps of a first-level PASID entry's controls (VT-d spec 9.6, qword 2).</summary>
/// <param name="Enabled">The entry translates through a first-level table.</param>
/// <param name="SupervisorRequests">SRE.</param>
/// <param name="ExecuteRequests">ERE.</param>
/// <param name="WriteProtect">WPE.</param>
/// <param name="NoExecute">NXE.</param>
/// <param name="SupervisorExecuteProtect">SMEP.</param>
internal readonly record struct FirstLevelPolicy(bool Enabled, bool SupervisorRequests, bool ExecuteRequests, bool WriteProtect, bool NoExecute,
    bool SupervisorExecuteProtect);
