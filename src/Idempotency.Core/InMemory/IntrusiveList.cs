namespace Idempotency;

/// <summary>The two links a node has on one <see cref="IntrusiveList{TNode, TLinks}"/>.</summary>
internal struct ListLinks<TNode>
    where TNode : class
{
    public TNode? Previous;
    public TNode? Next;
}

/// <summary>Names the link field of a node that one kind of <see cref="IntrusiveList{TNode, TLinks}"/> owns.</summary>
internal interface IListLinks<TNode>
    where TNode : class
{
    static abstract ref ListLinks<TNode> Of(TNode node);
}

/// <summary>
/// A doubly linked list threaded through fields of its nodes, first added first: adding and removing are constant
/// work and allocate nothing, and a node can be on several lists at once, one link field per kind of list.
/// </summary>
/// <remarks>A mutable struct: keep it in a field and call it there, never through a copy.</remarks>
internal struct IntrusiveList<TNode, TLinks>
    where TNode : class
    where TLinks : IListLinks<TNode>
{
    public TNode? First { get; private set; }

    public TNode? Last { get; private set; }

    public void AddLast(TNode node)
    {
        ref var links = ref TLinks.Of(node);
        links.Previous = Last;
        links.Next = null;
        if (Last is null)
        {
            First = node;
        }
        else
        {
            TLinks.Of(Last).Next = node;
        }

        Last = node;
    }

    public void Remove(TNode node)
    {
        ref var links = ref TLinks.Of(node);
        if (links.Previous is null)
        {
            First = links.Next;
        }
        else
        {
            TLinks.Of(links.Previous).Next = links.Next;
        }

        if (links.Next is null)
        {
            Last = links.Previous;
        }
        else
        {
            TLinks.Of(links.Next).Previous = links.Previous;
        }

        links = default;
    }
}
