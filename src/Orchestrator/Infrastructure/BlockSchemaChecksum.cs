using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Orchestrator.Infrastructure;

/// <summary>
/// The checksum a Prefect client computes for a block schema and later looks the schema up by:
/// <c>sha256:</c> and the hex SHA-256 of the Python <c>json.dumps(((fields,), {}), sort_keys=True)</c> text
/// of the schema's fields without <c>secret_fields</c>. The server computes the same value so a schema it
/// stored (or ships built in) is found by the checksum the client asks for.
/// </summary>
public static class BlockSchemaChecksum
{
    public static string Compute(RawJson fields)
    {
        var text = new StringBuilder("[[");
        using (JsonDocument document = JsonDocument.Parse(fields.Text))
        {
            WritePython(text, document.RootElement, skipKey: "secret_fields");
        }

        text.Append("], {}]");
        byte[] hash = SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString()));
        return "sha256:" + Convert.ToHexStringLower(hash);
    }

    /// <summary>Python's default <c>json.dumps</c> layout: ", " and ": " separators, ASCII-only strings.</summary>
    private static void WritePython(StringBuilder text, JsonElement element, string? skipKey = null)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                text.Append('{');
                bool first = true;
                foreach (JsonProperty property in element.EnumerateObject()
                             .Where(p => p.Name != skipKey)
                             .OrderBy(p => p.Name, StringComparer.Ordinal))
                {
                    text.Append(first ? "" : ", ");
                    first = false;
                    WriteString(text, property.Name);
                    text.Append(": ");
                    WritePython(text, property.Value);
                }

                text.Append('}');
                break;
            case JsonValueKind.Array:
                text.Append('[');
                int index = 0;
                foreach (JsonElement item in element.EnumerateArray())
                {
                    text.Append(index++ == 0 ? "" : ", ");
                    WritePython(text, item);
                }

                text.Append(']');
                break;
            case JsonValueKind.String:
                WriteString(text, element.GetString()!);
                break;
            case JsonValueKind.Number:
                text.Append(PythonNumber(element.GetRawText()));
                break;
            case JsonValueKind.True:
                text.Append("true");
                break;
            case JsonValueKind.False:
                text.Append("false");
                break;
            default:
                text.Append("null");
                break;
        }
    }

    private static void WriteString(StringBuilder text, string value)
    {
        text.Append('"');
        foreach (char c in value)
        {
            text.Append(c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                '\b' => "\\b",
                '\f' => "\\f",
                >= ' ' and <= '~' => c.ToString(),
                _ => $"\\u{(int)c:x4}",
            });
        }

        text.Append('"');
    }

    /// <summary>
    /// Integers print as sent; a number with a fraction or exponent is a Python float, printed as its
    /// <c>repr</c>: shortest round-trip digits, positional between 1e-4 and 1e16, else <c>1e-05</c> style.
    /// </summary>
    internal static string PythonNumber(string raw)
    {
        if (!raw.Contains('.') && !raw.Contains('e') && !raw.Contains('E'))
        {
            return raw;
        }

        double value = double.Parse(raw, CultureInfo.InvariantCulture);
        if (value == 0)
        {
            return raw.StartsWith('-') ? "-0.0" : "0.0";
        }

        string scientific = value.ToString("E16", CultureInfo.InvariantCulture);
        int exponent = int.Parse(scientific[(scientific.IndexOf('E') + 1)..], CultureInfo.InvariantCulture);
        string shortest = value.ToString("R", CultureInfo.InvariantCulture);
        string digits = Digits(shortest);
        string sign = value < 0 ? "-" : "";
        if (exponent is < -4 or >= 16)
        {
            string mantissa = digits.Length == 1 ? digits : $"{digits[0]}.{digits[1..]}";
            return $"{sign}{mantissa}e{(exponent < 0 ? "-" : "+")}{Math.Abs(exponent):00}";
        }

        string positional = exponent >= 0
            ? digits.Length > exponent + 1
                ? $"{digits[..(exponent + 1)]}.{digits[(exponent + 1)..]}"
                : $"{digits.PadRight(exponent + 1, '0')}.0"
            : $"0.{new string('0', -exponent - 1)}{digits}";
        return sign + positional;
    }

    /// <summary>The significant digits of a round-trip formatted double, without sign, point or exponent.</summary>
    private static string Digits(string formatted)
    {
        int e = formatted.IndexOfAny(['E', 'e']);
        string mantissa = e >= 0 ? formatted[..e] : formatted;
        string digits = mantissa.TrimStart('-').Replace(".", "", StringComparison.Ordinal).TrimStart('0');
        return digits.TrimEnd('0') is { Length: > 0 } trimmed ? trimmed : "0";
    }
}
