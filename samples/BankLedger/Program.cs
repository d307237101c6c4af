using BankLedger;

BankLedgerApp.Build(WebApplication.CreateBuilder(args)).Run();

/// <summary>The sample's entry point, visible to its tests.</summary>
public partial class Program;
