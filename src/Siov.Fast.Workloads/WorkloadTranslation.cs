namespace Siov.Fast.Workloads;

/// <summary>How a workload platform's unit translates: the PASID entries' translation type (VT-d spec 9.6, PGTT).</summary>
public enum WorkloadTranslation
{
    /// <summary>PGTT 010b: second-level tables.</summary>
    SecondLevel = 0,

    /// <summary>PGTT 001b: first-level (IA-32e) tables.</summary>
    FirstLevel,

    /// <summary>PGTT 011b: first-level tables over an identity second stage.</summary>
    Nested,
}
