using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Siov.Fast.Api.Infrastructure;

/// <summary>Checks <see cref="SiovOptions"/> and its sections with their data annotations, and the rules between
/// settings; each failure names its setting in configuration form (<c>Siov:Limits:MaxDomains: ...</c>).</summary>
internal sealed class SiovOptionsValidator : IValidateOptions<SiovOptions>
{
    /// <inheritdoc/>
    public ValidateOptionsResult Validate(string? name, SiovOptions options)
    {
        var failures = new List<string>();
        Check(options, SiovOptions.Section, failures);
        Check(options.Limits, SiovOptions.Section + ":Limits", failures);
        Check(options.State, SiovOptions.Section + ":State", failures);
        if (options.Dmar == null && options.Ivrs == null && options.Iort == null && (options.Lspci != null || options.Dmesg != null))
            failures.Add("Siov:Lspci, Siov:Dmesg: --lspci and --dmesg describe a platform given with --dmar, --ivrs or --iort; give the table too");
        if (options.Iort != null && (options.Dmar != null || options.Ivrs != null || options.Dmesg != null))
            failures.Add("Siov:Iort: --iort describes an Arm platform; --dmar, --ivrs and --dmesg describe x86 ones; give one kind");
        if (options.Platform != null && (options.Dmar != null || options.Ivrs != null || options.Iort != null))
            failures.Add("Siov:Platform: --platform names an embedded platform; --dmar, --ivrs and --iort load another; give one of them");
        if (options.Platform is not (null or Siov.Fast.Platforms.ModelledPlatform.DefaultName or Siov.Fast.Platforms.ModelledPlatform.ArmDemoName))
            failures.Add($"Siov:Platform: '{options.Platform}' is no embedded platform; they are {Siov.Fast.Platforms.ModelledPlatform.DefaultName} and {Siov.Fast.Platforms.ModelledPlatform.ArmDemoName}");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void Check(object section, string path, List<string> failures)
    {
        var results = new List<ValidationResult>();
        if (!Validator.TryValidateObject(section, new ValidationContext(section), results, validateAllProperties: true))
            failures.AddRange(results.Select(r => $"{path}:{string.Join(",", r.MemberNames)}: {r.ErrorMessage}"));
    }
}
