using System.ComponentModel.DataAnnotations;
using System.Globalization;

namespace Idempotency;

/// <summary>
/// <c>[MinLength(n)]</c> for strings, without its reflection: <see cref="MinLengthAttribute"/> reads <c>Count</c> off
/// unknown types by reflection and is marked <c>RequiresUnreferencedCode</c>, so using it fails a trimming/AOT-compatible
/// build. Same rule for strings, same message, read by the source-generated options validators.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field | AttributeTargets.Parameter, AllowMultiple = false)]
internal sealed class MinStringLengthAttribute(int length) : ValidationAttribute("The field {0} must be a string or array type with a minimum length of '{1}'.")
{
    public int Length { get; } = length;

    // As MinLengthAttribute: null is valid (Required says otherwise).
    public override bool IsValid(object? value) => value is null || value is string text && text.Length >= Length;

    public override string FormatErrorMessage(string name) =>
        string.Format(CultureInfo.CurrentCulture, ErrorMessageString, name, Length);
}
