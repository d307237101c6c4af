using System.ComponentModel.DataAnnotations;
using System.Globalization;

namespace Idempotency;

/// <summary>
/// <c>[Range(typeof(TimeSpan), min, max)]</c> without its reflection: that constructor finds a converter by type at run
/// time and is marked <c>RequiresUnreferencedCode</c>, so using it fails a trimming/AOT-compatible build. Same bounds
/// (inclusive), same message, read by the source-generated options validators.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field | AttributeTargets.Parameter, AllowMultiple = false)]
internal sealed class TimeSpanRangeAttribute : ValidationAttribute
{
    public TimeSpanRangeAttribute(string minimum, string maximum)
        : base("The field {0} must be between {1} and {2}.")
    {
        Minimum = TimeSpan.Parse(minimum, CultureInfo.InvariantCulture);
        Maximum = TimeSpan.Parse(maximum, CultureInfo.InvariantCulture);
    }

    public TimeSpan Minimum { get; }

    public TimeSpan Maximum { get; }

    // As RangeAttribute: null is valid (Required says otherwise).
    public override bool IsValid(object? value) => value is null || value is TimeSpan span && span >= Minimum && span <= Maximum;

    public override string FormatErrorMessage(string name) =>
        string.Format(CultureInfo.CurrentCulture, ErrorMessageString, name, Minimum, Maximum);
}
