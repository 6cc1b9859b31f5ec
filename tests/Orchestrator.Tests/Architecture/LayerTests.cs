using System.Reflection;
using System.Reflection.Emit;
using Orchestrator.Data;

namespace Orchestrator.Tests.Architecture;

/// <summary>
/// Dependencies point one way: Api → Schemas → Orchestration → Data → Infrastructure. Read from the
/// compiled assembly (signatures, attributes and every member a method body touches, lambdas and async
/// state machines included), so a reference cannot hide in a fully qualified name.
/// </summary>
public sealed class LayerTests
{
    /// <summary>Lowest first; a layer may use itself and the layers before it.</summary>
    private static readonly string[] Layers =
    [
        "Orchestrator.Infrastructure",
        "Orchestrator.Data",
        "Orchestrator.Orchestration",
        "Orchestrator.Schemas",
        "Orchestrator.Api",
    ];

    private static readonly Assembly Server = typeof(OrchestratorDbContext).Assembly;

    [Fact]
    public void EveryTypeOfTheServer_BelongsToALayer()
    {
        var outside = Server.GetTypes()
            .Where(t => t.Namespace is not null && t.Namespace.StartsWith("Orchestrator", StringComparison.Ordinal) && LayerOf(t) < 0)
            .Select(t => t.FullName);

        outside.Should().BeEmpty();
    }

    [Fact]
    public void NoLayer_ReferencesAHigherOne()
    {
        var violations = new SortedSet<string>();
        foreach (Type type in Server.GetTypes())
        {
            int layer = LayerOf(type);
            if (layer < 0)
            {
                continue;
            }

            foreach (Type used in Referenced(type))
            {
                if (LayerOf(used) > layer)
                {
                    violations.Add($"{Outermost(type).FullName} ({Layers[layer]}) uses {Outermost(used).FullName}");
                }
            }
        }

        violations.Should().BeEmpty();
    }

    [Fact]
    public void TheScanner_SeesAReferenceMadeOnlyInsideAMethodBody()
    {
        // The test would pass vacuously if method bodies were not read: RunStateChanger reaches the
        // policies only from inside its methods.
        Referenced(typeof(Orchestrator.Orchestration.RunStateChanger)).Should().Contain(typeof(Orchestrator.Orchestration.Policies.CoreTaskPolicy));
    }

    private static int LayerOf(Type type)
    {
        string? ns = Outermost(type).Namespace;
        if (ns is null)
        {
            return -1;
        }

        for (int i = Layers.Length - 1; i >= 0; i--)
        {
            if (ns == Layers[i] || ns.StartsWith(Layers[i] + ".", StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    private static Type Outermost(Type type)
    {
        while (type.DeclaringType is not null)
        {
            type = type.DeclaringType;
        }

        return type;
    }

    private const BindingFlags Everything =
        BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    /// <summary>The server's own types that <paramref name="type"/> names anywhere.</summary>
    private static HashSet<Type> Referenced(Type type)
    {
        var found = new HashSet<Type>();
        void Add(Type? t)
        {
            if (t is null)
            {
                return;
            }

            if (t.HasElementType)
            {
                Add(t.GetElementType());
                return;
            }

            if (t.IsGenericType && !t.IsGenericTypeDefinition)
            {
                foreach (Type argument in t.GetGenericArguments())
                {
                    Add(argument);
                }

                Add(t.GetGenericTypeDefinition());
                return;
            }

            if (!t.IsGenericParameter && t.Assembly == Server)
            {
                found.Add(t);
            }
        }

        void AddAttributes(IEnumerable<CustomAttributeData> attributes)
        {
            foreach (var attribute in attributes)
            {
                Add(attribute.AttributeType);
                foreach (var argument in attribute.ConstructorArguments.Concat(attribute.NamedArguments.Select(n => n.TypedValue)))
                {
                    Add(argument.Value as Type);
                }
            }
        }

        Add(type.BaseType);
        foreach (Type implemented in type.GetInterfaces())
        {
            Add(implemented);
        }

        AddAttributes(type.CustomAttributes);
        foreach (FieldInfo field in type.GetFields(Everything))
        {
            Add(field.FieldType);
            AddAttributes(field.CustomAttributes);
        }

        foreach (PropertyInfo property in type.GetProperties(Everything))
        {
            Add(property.PropertyType);
            AddAttributes(property.CustomAttributes);
        }

        foreach (MethodBase method in type.GetMethods(Everything).Cast<MethodBase>().Concat(type.GetConstructors(Everything)))
        {
            if (method is MethodInfo info)
            {
                Add(info.ReturnType);
            }

            foreach (ParameterInfo parameter in method.GetParameters())
            {
                Add(parameter.ParameterType);
                AddAttributes(parameter.CustomAttributes);
            }

            AddAttributes(method.CustomAttributes);
            foreach (Type t in TypesInBody(method))
            {
                Add(t);
            }
        }

        foreach (Type nested in type.GetNestedTypes(Everything))
        {
            found.UnionWith(Referenced(nested));
        }

        return found;
    }

    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value);

    /// <summary>The types of every type, method and field token in the method's IL.</summary>
    private static IEnumerable<Type> TypesInBody(MethodBase method)
    {
        byte[]? il = method.GetMethodBody()?.GetILAsByteArray();
        if (il is null)
        {
            yield break;
        }

        Module module = method.Module;
        Type[]? typeArguments = method.DeclaringType?.IsGenericType == true ? method.DeclaringType.GetGenericArguments() : null;
        Type[]? methodArguments = method.IsGenericMethod ? method.GetGenericArguments() : null;
        int position = 0;
        while (position < il.Length)
        {
            short value = il[position] == 0xFE ? (short)(0xFE00 | il[position + 1]) : il[position];
            position += il[position] == 0xFE ? 2 : 1;
            OpCode code = OpCodesByValue[value];
            switch (code.OperandType)
            {
                case OperandType.InlineMethod or OperandType.InlineField or OperandType.InlineType or OperandType.InlineTok:
                    int token = BitConverter.ToInt32(il, position);
                    MemberInfo? member = module.ResolveMember(token, typeArguments, methodArguments);
                    switch (member)
                    {
                        case Type t:
                            yield return t;
                            break;
                        case MethodBase m:
                            yield return m.DeclaringType!;
                            if (m is MethodInfo mi)
                            {
                                yield return mi.ReturnType;
                                foreach (Type argument in mi.IsGenericMethod ? mi.GetGenericArguments() : [])
                                {
                                    yield return argument;
                                }
                            }

                            break;
                        case FieldInfo f:
                            yield return f.DeclaringType!;
                            yield return f.FieldType;
                            break;
                    }

                    position += 4;
                    break;
                case OperandType.InlineSwitch:
                    int count = BitConverter.ToInt32(il, position);
                    position += 4 + (4 * count);
                    break;
                case OperandType.InlineNone:
                    break;
                case OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar:
                    position += 1;
                    break;
                case OperandType.InlineVar:
                    position += 2;
                    break;
                case OperandType.InlineI8 or OperandType.InlineR:
                    position += 8;
                    break;
                default:
                    position += 4;
                    break;
            }
        }
    }
}
