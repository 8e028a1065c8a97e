/** Docker-style generated names: `adjective_surname`. */
const ADJECTIVES = [
  "admiring", "agitated", "amazing", "bold", "brave", "busy", "calm", "clever", "cool", "dazzling",
  "determined", "eager", "ecstatic", "elegant", "epic", "focused", "friendly", "gallant", "gifted", "happy",
  "hopeful", "jolly", "keen", "kind", "laughing", "lucid", "modest", "nifty", "nostalgic", "optimistic",
  "peaceful", "pensive", "quirky", "relaxed", "serene", "sharp", "stoic", "tender", "upbeat", "vibrant",
  "wizardly", "youthful", "zealous", "zen",
] as const;

const NAMES = [
  "albattani", "babbage", "bardeen", "bohr", "brattain", "curie", "darwin", "dijkstra", "einstein", "euler",
  "fermat", "feynman", "galileo", "gauss", "hamilton", "hopper", "hypatia", "kepler", "knuth", "lamarr",
  "lovelace", "maxwell", "meitner", "newton", "noether", "pascal", "pike", "ritchie", "shannon", "thompson",
  "torvalds", "turing", "wozniak", "yalow",
] as const;

export function generateContainerName(random: () => number = Math.random): string {
  const a = ADJECTIVES[Math.floor(random() * ADJECTIVES.length)]!;
  const n = NAMES[Math.floor(random() * NAMES.length)]!;
  return `${a}_${n}`;
}
