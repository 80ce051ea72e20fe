namespace Siov.Fast.Platforms;

/// <summary>The PCI Express device/port type (PCIe Base spec 7.5.3.2, Device/Port Type field) as lspci names it.</summary>
public enum PciExpressType
{
    /// <summary>No PCI Express capability: a conventional PCI function.</summary>
    None,

    /// <summary>PCI Express endpoint.</summary>
    Endpoint,

    /// <summary>Legacy PCI Express endpoint.</summary>
    LegacyEndpoint,

    /// <summary>Root port of a root complex.</summary>
    RootPort,

    /// <summary>Upstream port of a switch.</summary>
    UpstreamPort,

    /// <summary>Downstream port of a switch.</summary>
    DownstreamPort,

    /// <summary>PCI Express to PCI/PCI-X bridge: the requests of the devices behind it carry its id.</summary>
    PcieToPciBridge,

    /// <summary>PCI/PCI-X to PCI Express bridge.</summary>
    PciToPcieBridge,

    /// <summary>Root complex integrated endpoint.</summary>
    RootComplexIntegratedEndpoint,

    /// <summary>Root complex event collector.</summary>
    RootComplexEventCollector,
}
