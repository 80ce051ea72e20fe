using BenchmarkDotNet.Attributes;
using Siov.Fast.Caching;

namespace Siov.Fast.Bench;

/// <summary>
/// The set compare of an IOTLB probe alone, by implementation: 4,096 probes of sets held in the
/// L1/L2 caches (64 sets, each with three valid ways), a hit in a random way or a miss, keys
/// precomputed with a fixed seed. Vector256 runs only where AVX2 is present.
/// </summary>
[MemoryDiagnoser]
public class IotlbProbeBenchmarks
{
    private const int Probes = 4096;
    private const int SetCount = 64;
    private Iotlb _iotlb = null!;
    private int[] _sets = null!;
    private ulong[] _keys = null!;

    /// <summary>The probe implementation.</summary>
    [ParamsSource(nameof(Paths))]
    public IotlbProbePath Path { get; set; }

    /// <summary>The paths this processor accelerates.</summary>
    public static IEnumerable<IotlbProbePath> Paths =>
        new[] { IotlbProbePath.Vector256, IotlbProbePath.Vector128, IotlbProbePath.Scalar }.Where(Iotlb.IsSupported);

    [GlobalSetup]
    public void Setup()
    {
        _iotlb = new Iotlb(SetCount * Iotlb.Ways, Path);
        for (int set = 0; set < SetCount; set++)
        {
            for (int way = 1; way <= Iotlb.Ways; way++)
                _iotlb.WriteRaw(set, way, TagA(set, way));
        }
        var random = new Random(42);
        _sets = new int[Probes];
        _keys = new ulong[Probes];
        for (int k = 0; k < Probes; k++)
        {
            int set = random.Next(SetCount);
            int way = random.Next(Iotlb.Ways + 1); // 0: a key that is in no way (a miss)
            _sets[k] = set;
            _keys[k] = way == 0 ? TagA(set, 9) : TagA(set, way);
        }
    }

    private static ulong TagA(int set, int way) => ((ulong)(set * 16 + way) << 19) | 1UL << 3 | 1;

    [GlobalCleanup]
    public void Cleanup() => _iotlb.Dispose();

    /// <summary>4,096 set compares with the chosen path.</summary>
    [Benchmark(OperationsPerInvoke = Probes)]
    public int FindWay()
    {
        int sum = 0;
        for (int k = 0; k < Probes; k++)
            sum += _iotlb.FindWay(Path, _sets[k], _keys[k]);
        return sum;
    }
}
