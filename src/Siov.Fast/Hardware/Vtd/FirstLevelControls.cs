namespace Siov.Fast.Hardware.Vtd;

/// <summary>The first-level controls of a scalable-mode PASID entry (VT-d spec 9.6, qword 2).</summary>
/// <param name="SupervisorRequests">SRE: privileged requests are allowed (needs ECAP_REG.SRS); otherwise they fault 5Dh.</param>
/// <param name="ExecuteRequests">ERE: execute requests are allowed (needs ECAP_REG.ERS); otherwise they fault 5Ch.</param>
/// <param name="WriteProtect">WPE: supervisor writes obey R/W as user writes do.</param>
/// <param name="NoExecute">NXE: XD in first-level entries forbids execute.</param>
/// <param name="SupervisorExecuteProtect">SMEP: a supervisor may not execute a user page.</param>
public readonly record struct FirstLevelControls(bool SupervisorRequests, bool ExecuteRequests, bool WriteProtect, bool NoExecute, bool SupervisorExecuteProtect);
