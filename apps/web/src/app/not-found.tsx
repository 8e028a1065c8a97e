import Link from "next/link";

export default function NotFound() {
  return (
    <main style={{ padding: 48, fontFamily: "system-ui, sans-serif", textAlign: "center" }}>
      <h1>Page not found</h1>
      <p>
        <Link href="/">Back to the dashboard</Link>
      </p>
    </main>
  );
}
