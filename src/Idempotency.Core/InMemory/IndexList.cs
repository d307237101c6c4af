namespace Idempotency;

/// <summary>The two links a node has on one <see cref="IndexList{TLinks}"/>: node numbers, 0 for none.</summary>
internal struct IndexLinks
{
    public int Previous;
    public int Next;
}

/// <summary>Names where the links of a node live for one kind of <see cref="IndexList{TLinks}"/>.</summary>
internal interface IIndexLinks
{
    static abstract ref IndexLinks Of(InMemoryIdempotencyStore store, int node);
}

/// <summary>
/// A doubly linked list of nodes named by number (0 is never a node), threaded through link fields of the nodes
/// themselves, first added first: adding and removing are constant work, allocate nothing, and hold no object
/// reference, so a million nodes are a million structs the garbage collector never traces.
/// </summary>
/// <remarks>A mutable struct: keep it in a field (or an array element) and call it there, never through a copy.</remarks>
internal struct IndexList<TLinks>
    where TLinks : IIndexLinks
{
    public int First { get; private set; }

    public int Last { get; private set; }

    public void AddLast(InMemoryIdempotencyStore store, int node)
    {
        ref var links = ref TLinks.Of(store, node);
        links.Previous = Last;
        links.Next = 0;
        if (Last == 0)
        {
            First = node;
        }
        else
        {
            TLinks.Of(store, Last).Next = node;
        }

        Last = node;
    }

    public void Remove(InMemoryIdempotencyStore store, int node)
    {
        ref var links = ref TLinks.Of(store, node);
        if (links.Previous == 0)
        {
            First = links.Next;
        }
        else
        {
            TLinks.Of(store, links.Previous).Next = links.Next;
        }

        if (links.Next == 0)
        {
            Last = links.Previous;
        }
        else
        {
            TLinks.Of(store, links.Next).Previous = links.Previous;
        }

        links = default;
    }
}
