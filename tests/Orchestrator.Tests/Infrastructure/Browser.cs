using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Support.UI;

namespace Orchestrator.Tests.Infrastructure;

/// <summary>
/// A headless Chromium driven through chromedriver, both Debian's (<c>chromium</c>, <c>chromium-driver</c>;
/// <c>.ci/run</c> installs them): nothing is downloaded. Screenshots go to <c>ORCHESTRATOR_SCREENSHOTS</c>,
/// or <c>artifacts/screenshots</c> in the repository.
/// </summary>
public sealed class Browser : IDisposable
{
    private readonly ChromeDriver _driver;

    public Browser()
    {
        var service = ChromeDriverService.CreateDefaultService("/usr/bin", "chromedriver");
        service.HideCommandPromptWindow = true;
        service.SuppressInitialDiagnosticInformation = true;
        var options = new ChromeOptions { BinaryLocation = "/usr/bin/chromium" };
        options.AddArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1400,900");
        _driver = new ChromeDriver(service, options, TimeSpan.FromSeconds(60));
    }

    public IWebDriver Driver => _driver;

    public void Open(Uri url) => _driver.Navigate().GoToUrl(url);

    /// <summary>The first element the selector finds once <paramref name="ready"/> holds for it, within 15 s.</summary>
    public IWebElement WaitFor(string cssSelector, Func<IWebElement, bool>? ready = null)
    {
        var wait = new WebDriverWait(_driver, TimeSpan.FromSeconds(15));
        wait.IgnoreExceptionTypes(typeof(NoSuchElementException), typeof(StaleElementReferenceException));
        return wait.Until(d =>
        {
            var element = d.FindElement(By.CssSelector(cssSelector));
            return ready is null || ready(element) ? element : null;
        })!;
    }

    /// <summary>
    /// The text of the first element the selector finds, once it satisfies <paramref name="ready"/>: read
    /// inside the wait, since the page redraws itself every few seconds and an element found earlier
    /// may be gone.
    /// </summary>
    public string TextOf(string cssSelector, Func<string, bool> ready)
    {
        var wait = new WebDriverWait(_driver, TimeSpan.FromSeconds(15));
        wait.IgnoreExceptionTypes(typeof(NoSuchElementException), typeof(StaleElementReferenceException));
        return wait.Until(d => d.FindElement(By.CssSelector(cssSelector)).Text is var text && ready(text) ? text : null)!;
    }

    /// <summary>Reads something off the page, again if the page redrew the elements being read.</summary>
    public T Read<T>(Func<IWebDriver, T> read)
    {
        var wait = new WebDriverWait(_driver, TimeSpan.FromSeconds(15));
        wait.IgnoreExceptionTypes(typeof(NoSuchElementException), typeof(StaleElementReferenceException));
        // WebDriverWait waits on objects only; the value is boxed for the wait.
        return (T)wait.Until<object>(d => read(d)!)!;
    }

    public string Screenshot(string name)
    {
        string folder = Environment.GetEnvironmentVariable("ORCHESTRATOR_SCREENSHOTS") is { Length: > 0 } configured
            ? configured
            : Path.Combine(RepositoryRoot(), "artifacts", "screenshots");
        Directory.CreateDirectory(folder);
        string path = Path.Combine(folder, $"{name}.png");
        _driver.GetScreenshot().SaveAsFile(path);
        return path;
    }

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Orchestrator.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? AppContext.BaseDirectory;
    }

    public void Dispose()
    {
        _driver.Quit();
        _driver.Dispose();
    }
}
