using System.Collections;
using System.ComponentModel.DataAnnotations;
using System.Globalization;

namespace Idempotency.AspNetCore;

/// <summary>
/// The data annotations of this package's options, read by their source-generated validators. A message names the
/// option as <c>{0}</c> (for example <c>IdempotencyOptions.HeaderName</c>) and the value set as <c>{1}</c>, and the
/// failure carries no member-name prefix, so a start-up error says what is wrong and with which value.
/// </summary>
internal abstract class OptionValueAttribute(string errorMessage) : ValidationAttribute(errorMessage)
{
    /// <summary>
    /// Gets or sets whether <see langword="null"/> passes: a policy's unset value, which falls back to the global option
    /// that the same rule validates.
    /// </summary>
    public bool AllowNull { get; set; }

    /// <summary>Whether <paramref name="value"/> satisfies the rule.</summary>
    protected abstract bool IsValidValue(object? value);

    /// <summary>The arguments of the message: the option's name, then what it shows of <paramref name="value"/>.</summary>
    protected virtual object?[] MessageArguments(string displayName, object? value) => [displayName, value];

    /// <inheritdoc/>
    protected override ValidationResult? IsValid(object? value, ValidationContext validationContext) =>
        (value is null && AllowNull) || IsValidValue(value)
            ? ValidationResult.Success
            : new ValidationResult(string.Format(CultureInfo.InvariantCulture, ErrorMessageString, MessageArguments(validationContext.DisplayName, value)));
}

/// <summary>A header name: an RFC 9110 token (<see cref="HttpFieldNames.IsValid"/>).</summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class HttpFieldNameAttribute() : OptionValueAttribute("{0} must be a valid HTTP header name; '{1}' is not.")
{
    protected override bool IsValidValue(object? value) => HttpFieldNames.IsValid(value as string);
}

/// <summary>One of the members its enum type declares.</summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class DefinedEnumValueAttribute(string errorMessage) : OptionValueAttribute(errorMessage)
{
    protected override bool IsValidValue(object? value) => value is Enum member && Enum.IsDefined(member.GetType(), member);
}

/// <summary>An <see cref="int"/> from <c>{2}</c> to <c>{3}</c>, both included.</summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class Int32RangeAttribute(int minimum, int maximum, string errorMessage) : OptionValueAttribute(errorMessage)
{
    protected override bool IsValidValue(object? value) => value is int number && number >= minimum && number <= maximum;

    protected override object?[] MessageArguments(string displayName, object? value) => [displayName, value, minimum, maximum];
}

/// <summary>A <see cref="TimeSpan"/> of at least <paramref name="minimumTicks"/> ticks (1: positive).</summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class MinimumDurationAttribute(long minimumTicks, string errorMessage) : OptionValueAttribute(errorMessage)
{
    protected override bool IsValidValue(object? value) => value is TimeSpan duration && duration.Ticks >= minimumTicks;
}

/// <summary>An absolute URI.</summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class AbsoluteUriAttribute() : OptionValueAttribute("{0} must be an absolute URI; '{1}' is not.")
{
    protected override bool IsValidValue(object? value) => Uri.TryCreate(value as string, UriKind.Absolute, out _);
}

/// <summary>A string that is <see langword="null"/> or at least <c>{2}</c> characters long; <c>{1}</c> is its length.</summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class MinimumLengthWhenSetAttribute(int minimumLength, string errorMessage) : OptionValueAttribute(errorMessage)
{
    protected override bool IsValidValue(object? value) => value is not string text || text.Length >= minimumLength;

    protected override object?[] MessageArguments(string displayName, object? value) => [displayName, (value as string)?.Length, minimumLength];
}

/// <summary>A string that is <see langword="null"/> or 1 or more visible ASCII characters; the message never shows it (it may be a secret).</summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class VisibleAsciiWhenSetAttribute(string errorMessage) : OptionValueAttribute(errorMessage)
{
    protected override bool IsValidValue(object? value) =>
        value is not string text || (text.Length > 0 && text.All(static c => c is > ' ' and < '\u007f'));

    protected override object?[] MessageArguments(string displayName, object? value) => [displayName];
}

/// <summary>A list of strings with at least one entry, none of them empty or blank.</summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class NoneBlankAttribute(string errorMessage) : OptionValueAttribute(errorMessage)
{
    protected override bool IsValidValue(object? value) =>
        value is IEnumerable entries && entries.Cast<object?>().Any() && entries.Cast<object?>().All(static e => e is string text && !string.IsNullOrWhiteSpace(text));
}
