using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Numerics;

namespace Siov.Fast.Load;

/// <summary>
/// Command-line options that reject a bad value with one line naming the option and the value
/// (<c>--requests 'abc' is not a whole number: EINVAL</c>, <c>--threads 0 is out of range (1 to 2147483647): ERANGE</c>,
/// <c>--workload 'foo' is not one of hot4k, cold4k, huge2m, siov64: EINVAL</c>) instead of System.CommandLine's
/// messages, which name a .NET type or take several lines.
/// </summary>
internal static class CheckedOptions
{
    /// <summary>An option that takes one of a few words, with a default.</summary>
    public static Option<string> Choice(string name, string description, string defaultValue, params string[] choices)
    {
        var option = new Option<string>(name)
        {
            Description = description,
            DefaultValueFactory = _ => defaultValue,
            CustomParser = result =>
            {
                if (Token(result) is not string text)
                    return defaultValue;
                if (choices.Contains(text, StringComparer.Ordinal))
                    return text;
                result.AddError($"{name} '{text}' is not one of {string.Join(", ", choices)}: EINVAL");
                return defaultValue;
            },
        };
        option.CompletionSources.Add(choices);
        return option;
    }

    /// <summary>A whole-number option with a default and a range.</summary>
    public static Option<T> Whole<T>(string name, string description, T defaultValue, T min, T max)
        where T : struct, IBinaryInteger<T> => new(name)
        {
            Description = description,
            DefaultValueFactory = _ => defaultValue,
            CustomParser = result => ParseWhole(result, name, min, max) ?? defaultValue,
        };

    /// <summary>A whole-number option without a default (null when absent).</summary>
    public static Option<T?> OptionalWhole<T>(string name, string description, T min, T max)
        where T : struct, IBinaryInteger<T> => new(name)
        {
            Description = description,
            CustomParser = result => ParseWhole(result, name, min, max),
        };

    /// <summary>A real-number option with a default and a range; NaN and infinities are refused.</summary>
    public static Option<double> Real(string name, string description, double defaultValue, double min, bool minExclusive = false) => new(name)
    {
        Description = description,
        DefaultValueFactory = _ => defaultValue,
        CustomParser = result => ParseReal(result, name, min, minExclusive) ?? defaultValue,
    };

    /// <summary>A real-number option without a default (null when absent).</summary>
    public static Option<double?> OptionalReal(string name, string description, double min, bool minExclusive = false) => new(name)
    {
        Description = description,
        CustomParser = result => ParseReal(result, name, min, minExclusive),
    };

    private static T? ParseWhole<T>(ArgumentResult result, string name, T min, T max) where T : struct, IBinaryInteger<T>
    {
        if (Token(result) is not string text)
            return null;
        if (!BigInteger.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out BigInteger whole))
        {
            result.AddError(string.Create(CultureInfo.InvariantCulture, $"{name} '{text}' is not a whole number: EINVAL"));
            return null;
        }
        if (!T.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out T value) || value < min || value > max)
        {
            result.AddError(string.Create(CultureInfo.InvariantCulture, $"{name} {text} is out of range ({min} to {max}): ERANGE"));
            return null;
        }
        return value;
    }

    private static double? ParseReal(ArgumentResult result, string name, double min, bool minExclusive)
    {
        if (Token(result) is not string text)
            return null;
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !double.IsFinite(value))
        {
            result.AddError(string.Create(CultureInfo.InvariantCulture, $"{name} '{text}' is not a number: EINVAL"));
            return null;
        }
        if (minExclusive ? !(value > min) : !(value >= min))
        {
            result.AddError(string.Create(CultureInfo.InvariantCulture, $"{name} {text} is out of range (must be {(minExclusive ? "above" : "at least")} {min}): ERANGE"));
            return null;
        }
        return value;
    }

    private static string? Token(ArgumentResult result) => result.Tokens.Count == 0 ? null : result.Tokens[^1].Value;
}
